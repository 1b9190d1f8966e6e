"""messages_to_chat: every mapping of an Anthropic Messages request, and every validation error."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from gateway.anthropic_compat import AnthropicRequestError, messages_to_chat


def body(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model": "claude-x",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "hi"}],
    }
    base.update(overrides)
    return base


def test_minimal_request() -> None:
    assert messages_to_chat(body()) == {
        "model": "claude-x",
        "max_tokens": 256,
        "messages": [{"role": "user", "content": "hi"}],
    }


def test_input_is_not_mutated() -> None:
    request = body(
        system=[{"type": "text", "text": "sys"}],
        tools=[{"name": "f", "input_schema": {"type": "object"}}],
        stop_sequences=["END"],
    )
    before = copy.deepcopy(request)
    messages_to_chat(request)
    assert request == before


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", [{"role": "system", "content": "Be brief."}]),
        (
            [
                {"type": "text", "text": "One.", "cache_control": {"type": "ephemeral"}},
                {"type": "text", "text": "Two."},
            ],
            [{"role": "system", "content": "One.\nTwo."}],
        ),
        ("", []),
        ([], []),
    ],
)
def test_system(system: Any, expected: list[dict[str, Any]]) -> None:
    messages = messages_to_chat(body(system=system))["messages"]
    assert messages[:-1] == expected
    assert messages[-1] == {"role": "user", "content": "hi"}


def test_text_blocks_collapse_to_a_string() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    chat = messages_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert chat["messages"] == [{"role": "user", "content": "a\nb"}]


def test_images_base64_and_url() -> None:
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_1"}},
    ]
    chat = messages_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert chat["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            ],
        }
    ]


def test_documents_plain_text_kept_pdf_dropped() -> None:
    content = [
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "doc body"}},
        {
            "type": "document",
            "title": "Notes",
            "source": {"type": "content", "content": [{"type": "text", "text": "n"}]},
        },
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}},
        {"type": "text", "text": "summarise"},
    ]
    chat = messages_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert chat["messages"] == [{"role": "user", "content": "doc body\nNotes\n\nn\nsummarise"}]


def test_thinking_blocks_are_dropped() -> None:
    messages = [
        {"role": "user", "content": "q"},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xxx"},
                {"type": "text", "text": "answer"},
            ],
        },
        {"role": "assistant", "content": [{"type": "thinking", "thinking": "only", "signature": "s"}]},
    ]
    chat = messages_to_chat(body(messages=messages))
    assert chat["messages"] == [
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "answer"},
    ]


def test_tool_round_trip_keeps_order() -> None:
    messages = [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}},
                {"type": "tool_use", "id": "toolu_2", "name": "weather", "input": {"city": "Rome"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "18C"},
                {"type": "text", "text": "also, be brief"},
                {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "21C"}]},
            ],
        },
    ]
    chat = messages_to_chat(body(messages=messages))
    assert chat["messages"] == [
        {"role": "user", "content": "weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "toolu_1", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Paris"}'}},
                {"id": "toolu_2", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Rome"}'}},
            ],
        },
        {"role": "tool", "tool_call_id": "toolu_1", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_2", "content": "21C"},
        {"role": "user", "content": "also, be brief"},
    ]


def test_assistant_with_only_tool_use_has_null_content() -> None:
    messages = [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "noop", "input": {}}]},
    ]
    assistant = messages_to_chat(body(messages=messages))["messages"][1]
    assert assistant == {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "t1", "type": "function", "function": {"name": "noop", "arguments": "{}"}}],
    }


def test_tool_result_error_empty_and_image() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": "AAA"}}
    content = [
        {"type": "tool_result", "tool_use_id": "a", "content": "boom", "is_error": True},
        {"type": "tool_result", "tool_use_id": "b", "is_error": True},
        {"type": "tool_result", "tool_use_id": "c"},
        {"type": "tool_result", "tool_use_id": "d", "content": [{"type": "text", "text": "shot:"}, image]},
    ]
    chat = messages_to_chat(body(messages=[{"role": "user", "content": content}]))
    assert chat["messages"] == [
        {"role": "tool", "tool_call_id": "a", "content": "Error: boom"},
        {"role": "tool", "tool_call_id": "b", "content": "Error"},
        {"role": "tool", "tool_call_id": "c", "content": ""},
        {
            "role": "tool",
            "tool_call_id": "d",
            "content": "shot:\n(the image output of this tool is attached to the next user message)",
        },
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AAA"}}]},
    ]


def test_sampling_and_metadata() -> None:
    chat = messages_to_chat(
        body(
            temperature=0.2,
            top_p=0.9,
            top_k=40,
            stop_sequences=["END", "STOP"],
            metadata={"user_id": "u-42"},
            thinking={"type": "enabled", "budget_tokens": 1024},
        )
    )
    assert chat["temperature"] == 0.2
    assert chat["top_p"] == 0.9
    assert chat["stop"] == ["END", "STOP"]
    assert chat["user"] == "u-42"
    assert "top_k" not in chat
    assert "thinking" not in chat
    assert "metadata" not in chat


def test_empty_stop_sequences_and_metadata_without_user() -> None:
    chat = messages_to_chat(body(stop_sequences=[], metadata={}))
    assert "stop" not in chat
    assert "user" not in chat


def test_stream_asks_for_usage() -> None:
    chat = messages_to_chat(body(stream=True))
    assert chat["stream"] is True
    assert chat["stream_options"] == {"include_usage": True}
    assert "stream" not in messages_to_chat(body(stream=False))


WEATHER_TOOL = {
    "name": "weather",
    "description": "Current weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    "cache_control": {"type": "ephemeral"},
}


def test_tools_become_functions_and_server_tools_are_dropped() -> None:
    tools = [
        WEATHER_TOOL,
        {"type": "custom", "name": "bare", "input_schema": {"type": "object"}},
        {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
    ]
    chat = messages_to_chat(body(tools=tools))
    assert chat["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "weather",
                "parameters": WEATHER_TOOL["input_schema"],
                "description": "Current weather",
            },
        },
        {"type": "function", "function": {"name": "bare", "parameters": {"type": "object"}}},
    ]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ({"type": "auto"}, "auto"),
        ({"type": "any"}, "required"),
        ({"type": "none"}, "none"),
        ({"type": "tool", "name": "weather"}, {"type": "function", "function": {"name": "weather"}}),
    ],
)
def test_tool_choice(choice: dict[str, Any], expected: Any) -> None:
    chat = messages_to_chat(body(tools=[WEATHER_TOOL], tool_choice=choice))
    assert chat["tool_choice"] == expected
    assert "parallel_tool_calls" not in chat


def test_disable_parallel_tool_use() -> None:
    chat = messages_to_chat(body(tools=[WEATHER_TOOL], tool_choice={"type": "auto", "disable_parallel_tool_use": True}))
    assert chat["parallel_tool_calls"] is False


def test_tool_choice_without_usable_tools_is_dropped() -> None:
    chat = messages_to_chat(body(tools=[{"type": "bash_20250124", "name": "bash"}], tool_choice={"type": "any"}))
    assert "tools" not in chat
    assert "tool_choice" not in chat


def test_output_is_json_serialisable() -> None:
    chat = messages_to_chat(body(tools=[WEATHER_TOOL], system="s", stream=True))
    assert orjson.loads(orjson.dumps(chat)) == chat


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ({"max_tokens": 1, "messages": [{"role": "user", "content": "x"}]}, "model"),
        (body(model=""), "model"),
        (body(model=3), "model"),
        ({"model": "m", "max_tokens": 1}, "messages"),
        (body(messages=[]), "messages"),
        (body(messages="hi"), "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}]}, "max_tokens"),
        (body(max_tokens="10"), "max_tokens"),
        (body(max_tokens=True), "max_tokens"),
        (body(max_tokens=0), "max_tokens"),
        (body(max_tokens=1.5), "max_tokens"),
        (body(system=5), "system"),
        (body(system=[{"type": "text"}]), "system.0.text"),
        (body(temperature="hot"), "temperature"),
        (body(top_p=[1]), "top_p"),
        (body(stop_sequences="END"), "stop_sequences"),
        (body(stop_sequences=["END", 1]), "stop_sequences.1"),
        (body(metadata="u"), "metadata"),
        (body(metadata={"user_id": 7}), "metadata.user_id"),
        (body(stream="yes"), "stream"),
        (body(tools={"name": "f"}), "tools"),
        (body(tools=["f"]), "tools.0"),
        (body(tools=[{"name": "f"}]), "tools.0.input_schema"),
        (body(tools=[{"input_schema": {}}]), "tools.0.name"),
        (body(tool_choice="auto"), "tool_choice"),
        (body(tools=[WEATHER_TOOL], tool_choice={"type": "sometimes"}), "tool_choice.type"),
        (body(tools=[WEATHER_TOOL], tool_choice={"type": "tool"}), "tool_choice.name"),
        (body(messages=["hi"]), "messages.0"),
        (body(messages=[{"content": "x"}]), "messages.0.role"),
        (body(messages=[{"role": "system", "content": "x"}]), "messages.0.role"),
        (body(messages=[{"role": "user"}]), "messages.0.content"),
        (body(messages=[{"role": "user", "content": 5}]), "messages.0.content"),
        (body(messages=[{"role": "user", "content": ["x"]}]), "messages.0.content.0"),
        (body(messages=[{"role": "user", "content": [{"text": "x"}]}]), "messages.0.content.0.type"),
        (body(messages=[{"role": "user", "content": [{"type": "text", "text": 1}]}]), "messages.0.content.0.text"),
        (body(messages=[{"role": "user", "content": [{"type": "image"}]}]), "messages.0.content.0.source"),
        (
            body(messages=[{"role": "user", "content": [{"type": "image", "source": {"type": "base64"}}]}]),
            "messages.0.content.0.source.media_type",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "tool_result", "content": "x"}]}]),
            "messages.0.content.0.tool_use_id",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": 1}]}]),
            "messages.0.content.0.content",
        ),
        (
            body(messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "input": {}}]}]),
            "messages.0.content.0.name",
        ),
        (
            body(messages=[{"role": "assistant", "content": [{"type": "tool_use", "name": "f", "input": {}}]}]),
            "messages.0.content.0.id",
        ),
        (
            body(
                messages=[{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": []}]}]
            ),
            "messages.0.content.0.input",
        ),
    ],
)
def test_validation_errors(request_body: Any, param: str) -> None:
    with pytest.raises(AnthropicRequestError) as info:
        messages_to_chat(request_body)
    assert info.value.param == param
    assert str(info.value).startswith(f"{param}: ")
    assert isinstance(info.value, ValueError)


def test_missing_field_message() -> None:
    with pytest.raises(AnthropicRequestError, match=r"^max_tokens: Field required$"):
        messages_to_chat({"model": "m", "messages": [{"role": "user", "content": "x"}]})


def test_body_must_be_an_object() -> None:
    with pytest.raises(AnthropicRequestError) as info:
        messages_to_chat([])  # type: ignore[arg-type]
    assert info.value.param == "body"
