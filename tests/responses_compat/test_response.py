"""chat_to_response and ChatToResponseStream: Responses objects and events, held to OpenAI's schemas."""

from __future__ import annotations

from typing import Any

import orjson
from support.contracts import validate, validate_sse_responses_stream

from gateway.responses_compat import ChatToResponseStream, chat_to_response

REQUEST = {"model": "m", "input": "hi", "tools": [{"type": "function", "name": "f", "parameters": {}}]}
USAGE = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}


def chat(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion", "created": 1, "model": "up",
            "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
            "usage": USAGE}


def test_text_reasoning_and_tool_calls_become_output_items_in_order() -> None:
    response = chat_to_response(chat({
        "content": "hello", "reasoning_content": "think",
        "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }, "tool_calls"), REQUEST, "resp_1")
    validate("Response", response)
    assert [item["type"] for item in response["output"]] == ["reasoning", "message", "function_call"]
    assert response["output"][2]["call_id"] == "call_1"
    assert response["usage"]["input_tokens"] == 5 and response["usage"]["output_tokens"] == 3
    assert response["status"] == "completed"


def test_a_length_stop_makes_the_response_incomplete() -> None:
    response = chat_to_response(chat({"content": "cut"}, "length"), REQUEST, "resp_2")
    validate("Response", response)
    assert response["status"] == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def sse(payloads: list[bytes]) -> bytes:
    return b"".join(
        b"event: " + orjson.loads(p)["type"].encode() + b"\ndata: " + p + b"\n\n" for p in payloads
    )


def test_a_stream_of_reasoning_text_and_a_tool_call_is_valid_event_by_event() -> None:
    stream = ChatToResponseStream(REQUEST, "resp_3", "m")
    payloads: list[bytes] = []
    for piece in (
        chunk({"role": "assistant", "reasoning_content": "hm"}),
        chunk({"content": "Hel"}),
        chunk({"content": "lo"}),
        chunk({"tool_calls": [{"index": 0, "id": "call_9", "function": {"name": "f", "arguments": "{\"a\""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": ":1}"}}]}, "tool_calls"),
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "up", "choices": [], "usage": USAGE},
    ):
        payloads += stream.feed(piece)
    payloads += stream.finish()
    events = validate_sse_responses_stream(sse(payloads))
    final = events[-1]["response"]
    assert events[-1]["type"] == "response.completed"
    assert [item["type"] for item in final["output"]] == ["reasoning", "message", "function_call"]
    assert final["output"][1]["content"][0]["text"] == "Hello"
    assert final["output"][2]["arguments"] == '{"a":1}'
    assert final["usage"]["total_tokens"] == 8
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["Hel", "lo"]
