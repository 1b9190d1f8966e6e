"""responses_to_chat: a Responses request read as chat, and the requests a chat upstream cannot serve."""

from __future__ import annotations

import pytest

from gateway.responses_compat import ResponsesRequestError, responses_to_chat

TOOL = {"type": "function", "name": "get_weather", "parameters": {"type": "object"}, "strict": True}


def test_string_input_and_instructions_become_system_and_user_messages() -> None:
    chat = responses_to_chat({"model": "m", "instructions": "be brief", "input": "hi", "max_output_tokens": 9})
    assert chat["messages"] == [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    assert chat["max_tokens"] == 9


def test_function_calls_join_the_assistant_turn_and_outputs_become_tool_messages() -> None:
    chat = responses_to_chat({
        "model": "m",
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
            {"type": "reasoning", "id": "rs_1", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "checking"}]},
            {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
        ],
        "tools": [TOOL],
        "tool_choice": {"type": "function", "name": "get_weather"},
    })
    user, assistant, tool = chat["messages"]
    assert user == {"role": "user", "content": "weather?"}
    assert assistant["content"] == "checking" and assistant["tool_calls"][0]["id"] == "c1"
    assert tool == {"role": "tool", "tool_call_id": "c1", "content": "sunny"}
    assert chat["tools"][0]["function"] == {"name": "get_weather", "parameters": {"type": "object"}, "strict": True}
    assert chat["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}


def test_structured_output_and_reasoning_effort_carry_over() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    chat = responses_to_chat({
        "model": "m",
        "input": "x",
        "text": {"format": {"type": "json_schema", "name": "thing", "schema": schema, "strict": True}},
        "reasoning": {"effort": "low"},
        "stream": True,
    })
    assert chat["response_format"] == {
        "type": "json_schema", "json_schema": {"name": "thing", "schema": schema, "strict": True}
    }
    assert chat["reasoning_effort"] == "low"
    assert chat["stream_options"] == {"include_usage": True}


def test_images_stay_parts_of_a_user_message() -> None:
    chat = responses_to_chat({"model": "m", "input": [{"role": "user", "content": [
        {"type": "input_text", "text": "what is it?"},
        {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "low"},
    ]}]})
    assert chat["messages"][0]["content"][1] == {
        "type": "image_url", "image_url": {"url": "https://example.com/a.png", "detail": "low"}
    }


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "x", "tools": [{"type": "web_search"}]}, "tools[0].type"),
        ({"input": "x", "background": True}, "background"),
        ({"input": [{"type": "web_search_call", "id": "w"}]}, "input[0].type"),
        ({"input": [{"role": "robot", "content": "x"}]}, "input[0].role"),
        ({"input": 7}, "input"),
        ({"input": []}, "input"),
    ],
)
def test_what_a_chat_upstream_cannot_serve_is_refused_naming_the_field(body: dict[str, object], param: str) -> None:
    with pytest.raises(ResponsesRequestError) as caught:
        responses_to_chat({"model": "m", **body})
    assert caught.value.param == param
