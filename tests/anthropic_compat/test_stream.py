"""ChatToMessageStream: Anthropic SSE framing from OpenAI chunks, checked by hand and by the Anthropic SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2  # the anthropic 2.x SDK is built on httpx2, not httpx
import orjson
import pytest

from gateway.anthropic_compat import ChatToMessageStream


def chunk(delta: dict[str, Any] | None = None, finish_reason: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-s1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-upstream",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish_reason, "logprobs": None}],
        "usage": None,
        **extra,
    }


def tool_delta(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


USAGE = {
    "prompt_tokens": 120,
    "completion_tokens": 33,
    "total_tokens": 153,
    "prompt_tokens_details": {"cached_tokens": 100},
}


def usage_chunk(usage: dict[str, Any] = USAGE) -> dict[str, Any]:
    return {**chunk(), "choices": [], "usage": usage}


def realistic_chunks() -> list[dict[str, Any]]:
    """Text, then two tool calls in fragments, then finish_reason, then the usage chunk, as OpenAI sends them."""
    return [
        chunk({"role": "assistant", "content": "", "refusal": None}),
        chunk({"content": "Let me "}),
        chunk({"content": "check."}),
        chunk(tool_delta(0, "", "call_a", "weather")),
        chunk(tool_delta(0, '{"ci')),
        chunk(tool_delta(0, 'ty": "Par')),
        chunk(tool_delta(0, 'is"}')),
        chunk(tool_delta(1, '{"tz": "CET"}', "call_b", "clock")),
        chunk({}, "tool_calls"),
        usage_chunk(),
    ]


def parse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    assert raw.endswith(b"\n\n")
    events = []
    for frame in raw.split(b"\n\n")[:-1]:
        event_line, data_line = frame.split(b"\n")
        assert event_line.startswith(b"event: ")
        assert data_line.startswith(b"data: ")
        name, data = event_line[7:].decode(), orjson.loads(data_line[6:])
        assert data["type"] == name
        events.append((name, data))
    return events


def run(chunks: list[dict[str, Any]], **kwargs: Any) -> bytes:
    stream = ChatToMessageStream("claude-asked", **kwargs)
    return b"".join(stream.feed(c) for c in chunks) + stream.finish()


def test_event_sequence() -> None:
    events = parse(run(realistic_chunks()))
    assert [(name, data.get("index")) for name, data in events] == [
        ("message_start", None),
        ("ping", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("message_delta", None),
        ("message_stop", None),
    ]
    start = events[0][1]["message"]
    assert start == {
        "id": "msg_s1",
        "type": "message",
        "role": "assistant",
        "model": "claude-asked",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }
    assert events[2][1]["content_block"] == {"type": "text", "text": ""}
    assert events[3][1]["delta"] == {"type": "text_delta", "text": "Let me "}
    assert events[6][1]["content_block"] == {"type": "tool_use", "id": "call_a", "name": "weather", "input": {}}
    assert events[7][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"ci'}
    assert events[11][1]["content_block"]["name"] == "clock"
    assert events[14][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {
            "input_tokens": 20,
            "output_tokens": 33,
            "cache_read_input_tokens": 100,
            "cache_creation_input_tokens": 0,
        },
    }


def test_wire_format_is_compact() -> None:
    stream = ChatToMessageStream("m", message_id="msg_fixed")
    raw = stream.feed(chunk({"content": "hi"}))
    assert raw.startswith(b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_fixed",')
    assert b'event: ping\ndata: {"type":"ping"}\n\n' in raw
    assert raw.endswith(
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
        b'"delta":{"type":"text_delta","text":"hi"}}\n\n'
    )


def test_close_happens_when_usage_arrives_after_finish() -> None:
    stream = ChatToMessageStream("m")
    for c in realistic_chunks()[:-1]:
        assert b"message_delta" not in stream.feed(c)
    closing = stream.feed(usage_chunk())
    assert [name for name, _ in parse(closing)] == ["message_delta", "message_stop"]
    assert stream.finish() == b""
    assert stream.feed(chunk({"content": "late"})) == b""


def test_finish_reason_closes_the_open_block() -> None:
    stream = ChatToMessageStream("m")
    stream.feed(chunk({"content": "x"}))
    assert [name for name, _ in parse(stream.feed(chunk({}, "stop")))] == ["content_block_stop"]


def test_usage_on_the_finish_chunk_without_usage_chunk() -> None:
    events = parse(
        run([chunk({"content": "x"}), chunk({}, "length", usage={"prompt_tokens": 7, "completion_tokens": 3})])
    )
    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"
    assert events[-2][1]["usage"]["output_tokens"] == 3
    assert events[-2][1]["usage"]["input_tokens"] == 7


def test_upstream_ended_without_finish_reason_or_usage() -> None:
    events = parse(run([chunk({"content": "cut"})]))
    assert [name for name, _ in events][-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert events[-2][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 0},
    }
    tool_events = parse(run([chunk(tool_delta(0, "{}", "call_1", "f"))]))
    assert tool_events[-2][1]["delta"]["stop_reason"] == "tool_use"


def test_finish_without_any_chunk() -> None:
    events = parse(ChatToMessageStream("m", message_id="msg_x").finish())
    assert [name for name, _ in events] == ["message_start", "ping", "message_delta", "message_stop"]
    assert events[0][1]["message"]["id"] == "msg_x"


def test_parallel_calls_with_the_same_index_but_new_ids() -> None:
    # Gemini's OpenAI-compatible endpoint numbers every parallel call 0.
    chunks = [
        chunk(tool_delta(0, '{"a":1}', "call_1", "f")),
        chunk(tool_delta(0, '{"b":2}', "call_2", "g")),
        chunk({}, "stop"),
    ]
    starts = [data for name, data in parse(run(chunks)) if name == "content_block_start"]
    assert [(s["index"], s["content_block"]["id"]) for s in starts] == [(0, "call_1"), (1, "call_2")]


def test_repeated_id_on_every_fragment_stays_one_block() -> None:
    chunks = [chunk(tool_delta(0, '{"a":', "call_1", "f")), chunk(tool_delta(0, "1}", "call_1", "f"))]
    events = parse(run(chunks))
    assert sum(name == "content_block_start" for name, _ in events) == 1


def test_tool_call_without_id_gets_one() -> None:
    events = parse(run([chunk({"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": "{}"}}]})]))
    assert events[2][1]["content_block"]["id"].startswith("toolu_")


def test_text_after_tool_call_opens_a_new_block() -> None:
    chunks = [chunk(tool_delta(0, "{}", "call_1", "f")), chunk({"content": "done"})]
    starts = [data["content_block"]["type"] for name, data in parse(run(chunks)) if name == "content_block_start"]
    assert starts == ["tool_use", "text"]


def test_reasoning_and_other_choices_are_ignored() -> None:
    other_choice = {**chunk({"content": "second choice"}), "choices": [{"index": 1, "delta": {"content": "no"}}]}
    events = parse(run([chunk({"reasoning_content": "thinking..."}), other_choice, chunk({"content": "yes"})]))
    texts = [data["delta"]["text"] for name, data in events if name == "content_block_delta"]
    assert texts == ["yes"]


def test_choice_without_index_is_read() -> None:
    no_index = {**chunk(), "choices": [{"delta": {"content": "a"}}]}
    null_index = {**chunk(), "choices": [{"index": None, "delta": {"content": "b"}}]}
    texts = [
        data["delta"]["text"] for name, data in parse(run([no_index, null_index])) if name == "content_block_delta"
    ]
    assert texts == ["a", "b"]


def test_stop_sequence_from_upstream() -> None:
    final = chunk({}, "stop")
    final["choices"][0]["stop_reason"] = "END"
    events = parse(run([chunk({"content": "a"}), final], stop_sequences=["END"]))
    assert events[-2][1]["delta"] == {"stop_reason": "stop_sequence", "stop_sequence": "END"}


def test_error_event_ends_the_stream() -> None:
    stream = ChatToMessageStream("m")
    stream.feed(chunk({"content": "partial"}))
    raw = stream.error_event(529, {"error": {"message": "overloaded upstream"}})
    assert raw == (
        b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"overloaded upstream"}}\n\n'
    )
    assert stream.finish() == b""
    assert stream.feed(chunk({"content": "more"})) == b""
    assert stream.error_event(500, {}) == b""


def test_error_chunk_from_upstream_becomes_an_error_event() -> None:
    stream = ChatToMessageStream("m")
    events = parse(stream.feed({"error": {"message": "provider died", "code": 502}}))
    assert events == [("error", {"type": "error", "error": {"type": "api_error", "message": "provider died"}})]
    assert stream.finish() == b""


def sse_client(raw: bytes) -> anthropic.Anthropic:
    def handler(request: httpx2.Request) -> httpx2.Response:
        assert request.url.path == "/v1/messages"
        assert orjson.loads(request.content)["stream"] is True
        return httpx2.Response(200, content=raw, headers={"content-type": "text/event-stream"})

    return anthropic.Anthropic(
        api_key="test",
        base_url="http://gateway.test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(handler)),
    )


def test_anthropic_sdk_parses_stream() -> None:
    raw = run(realistic_chunks())
    with (
        sse_client(raw) as client,
        client.messages.stream(
            model="claude-asked", max_tokens=100, messages=[{"role": "user", "content": "weather?"}]
        ) as stream,
    ):
        streamed_text = "".join(stream.text_stream)
        message = stream.get_final_message()
    assert streamed_text == "Let me check."
    assert message.id == "msg_s1"
    assert message.model == "claude-asked"
    text, weather, clock = message.content
    assert isinstance(text, anthropic.types.TextBlock)
    assert text.text == "Let me check."
    assert isinstance(weather, anthropic.types.ToolUseBlock)
    assert (weather.id, weather.name, weather.input) == ("call_a", "weather", {"city": "Paris"})
    assert isinstance(clock, anthropic.types.ToolUseBlock)
    assert clock.input == {"tz": "CET"}
    assert message.stop_reason == "tool_use"
    assert message.usage.input_tokens == 20
    assert message.usage.output_tokens == 33
    assert message.usage.cache_read_input_tokens == 100


def test_anthropic_sdk_raises_on_error_event() -> None:
    stream = ChatToMessageStream("m")
    raw = stream.feed(chunk({"content": "partial"})) + stream.error_event(500, {"error": {"message": "boom"}})
    with sse_client(raw) as client, pytest.raises(anthropic.APIStatusError, match="boom"):  # noqa: SIM117
        with client.messages.stream(model="m", max_tokens=1, messages=[{"role": "user", "content": "x"}]) as s:
            s.get_final_message()
