"""chat_to_message and error_to_anthropic: every mapping, plus a round trip through the Anthropic SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2  # the anthropic 2.x SDK is built on httpx2, not httpx
import orjson
import pytest

from gateway.anthropic_compat import chat_to_message, error_to_anthropic
from gateway.anthropic_compat.response import map_usage, parse_tool_input


def completion(message: dict[str, Any], finish_reason: str | None = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-upstream",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
        **extra,
    }


def test_text_response() -> None:
    message = chat_to_message(completion({"content": "Hello!"}), "claude-asked")
    assert message == {
        "id": "msg_abc123",
        "type": "message",
        "role": "assistant",
        "model": "claude-asked",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 100,
            "output_tokens": 20,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def test_tool_calls_response() -> None:
    tool_calls = [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_2", "type": "function", "function": {"name": "clock", "arguments": ""}},
    ]
    message = chat_to_message(completion({"content": None, "tool_calls": tool_calls}, "tool_calls"), "m")
    assert message["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "clock", "input": {}},
    ]
    assert message["stop_reason"] == "tool_use"


def test_text_then_tool_use_and_missing_tool_id() -> None:
    tool_calls = [{"type": "function", "function": {"name": "f", "arguments": "{}"}}]
    message = chat_to_message(completion({"content": "Let me check.", "tool_calls": tool_calls}), "m")
    assert [block["type"] for block in message["content"]] == ["text", "tool_use"]
    assert message["content"][1]["id"].startswith("toolu_")
    # finish_reason "stop" next to tool calls (Gemini, older Ollama) still means "run the tools".
    assert message["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        ("   ", {}),
        (None, {}),
        ('"{\\"a\\": 1}"', {"a": 1}),
        ('{"a": 1', {}),
        ("[1, 2]", {}),
        ("not json", {}),
        ({"already": "parsed"}, {"already": "parsed"}),
    ],
)
def test_parse_tool_input(arguments: Any, expected: dict[str, Any]) -> None:
    assert parse_tool_input(arguments) == expected


@pytest.mark.parametrize(
    ("finish_reason", "expected"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("function_call", "tool_use"),
        ("content_filter", "refusal"),
        (None, "end_turn"),
        ("something_new", "end_turn"),
    ],
)
def test_stop_reason(finish_reason: str | None, expected: str) -> None:
    assert chat_to_message(completion({"content": "x"}, finish_reason), "m")["stop_reason"] == expected


def test_stop_sequence_reported_by_upstream() -> None:
    chat = completion({"content": "one two"})
    chat["choices"][0]["stop_reason"] = "END"
    message = chat_to_message(chat, "m", stop_sequences=["END"])
    assert (message["stop_reason"], message["stop_sequence"]) == ("stop_sequence", "END")
    # Without the request's stop sequences the upstream's value is not trusted.
    plain = chat_to_message(chat, "m")
    assert (plain["stop_reason"], plain["stop_sequence"]) == ("end_turn", None)


def test_refusal() -> None:
    message = chat_to_message(completion({"content": None, "refusal": "I can't help with that."}), "m")
    assert message["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert message["stop_reason"] == "refusal"


def test_content_parts_and_empty_content() -> None:
    parts = [{"type": "thinking", "thinking": "x"}, {"type": "text", "text": "a"}, {"type": "text", "text": "b"}]
    assert chat_to_message(completion({"content": parts}), "m")["content"] == [{"type": "text", "text": "ab"}]
    assert chat_to_message(completion({"content": ""}), "m")["content"] == []


def test_degenerate_completion() -> None:
    message = chat_to_message({}, "m")
    assert message["id"].startswith("msg_")
    assert message["content"] == []
    assert message["stop_reason"] == "end_turn"
    assert message["usage"]["input_tokens"] == 0


def test_id_without_chatcmpl_prefix_is_kept() -> None:
    assert chat_to_message(completion({"content": "x"}, id="gen-77"), "m")["id"] == "msg_gen-77"


def test_usage_excludes_cached_tokens() -> None:
    usage = {"prompt_tokens": 1000, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 800}}
    assert map_usage(usage) == {
        "input_tokens": 200,
        "output_tokens": 5,
        "cache_read_input_tokens": 800,
        "cache_creation_input_tokens": 0,
    }
    assert map_usage({"prompt_tokens_details": None}) == map_usage(None)


@pytest.mark.parametrize(
    ("status", "error_type"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (402, "billing_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (409, "conflict_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "timeout_error"),
        (529, "overloaded_error"),
        (599, "api_error"),
    ],
)
def test_error_types(status: int, error_type: str) -> None:
    body = {"error": {"message": "nope", "type": "whatever", "param": None, "code": None}}
    assert error_to_anthropic(status, body) == {"type": "error", "error": {"type": error_type, "message": "nope"}}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"error": {"message": "from error"}}, "from error"),
        ({"error": "plain string"}, "plain string"),
        ({"message": "top level"}, "top level"),
        ({"detail": "fastapi style"}, "fastapi style"),
        ({}, "Upstream request failed with HTTP 502"),
        ({"error": {"message": ""}}, "Upstream request failed with HTTP 502"),
    ],
)
def test_error_message_extraction(body: dict[str, Any], message: str) -> None:
    assert error_to_anthropic(502, body)["error"]["message"] == message


def anthropic_client(handler: Any) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="test",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def test_anthropic_sdk_parses_message() -> None:
    tool_calls = [{"id": "call_9", "type": "function", "function": {"name": "weather", "arguments": '{"city":"Oslo"}'}}]
    chat = completion({"content": "Checking Oslo.", "tool_calls": tool_calls}, "tool_calls")
    chat["usage"]["prompt_tokens_details"] = {"cached_tokens": 60}

    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        return httpx2.Response(200, content=orjson.dumps(chat_to_message(chat, "claude-asked")))

    with anthropic_client(handler) as client:
        message = client.messages.create(
            model="claude-asked", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
        )
    assert isinstance(message, anthropic.types.Message)
    assert message.model == "claude-asked"
    text, tool = message.content
    assert isinstance(text, anthropic.types.TextBlock)
    assert text.text == "Checking Oslo."
    assert isinstance(tool, anthropic.types.ToolUseBlock)
    assert (tool.id, tool.name, tool.input) == ("call_9", "weather", {"city": "Oslo"})
    assert message.stop_reason == "tool_use"
    assert (message.usage.input_tokens, message.usage.cache_read_input_tokens) == (40, 60)
    assert message.usage.output_tokens == 20


@pytest.mark.parametrize(
    ("status", "exception"),
    [
        (400, anthropic.BadRequestError),
        (401, anthropic.AuthenticationError),
        (429, anthropic.RateLimitError),
        (529, anthropic.InternalServerError),
    ],
)
def test_anthropic_sdk_parses_error(status: int, exception: type[Exception]) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        body = error_to_anthropic(status, {"error": {"message": "upstream said no"}})
        return httpx2.Response(status, content=orjson.dumps(body))

    with anthropic_client(handler) as client, pytest.raises(exception) as info:
        client.messages.create(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}])
    assert "upstream said no" in str(info.value)
