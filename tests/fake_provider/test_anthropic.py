"""The Anthropic Messages API through the official anthropic SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx

MODEL = "claude-3-5-sonnet-20241022"
ASK: Any = [{"role": "user", "content": "hello from claude"}]
WEATHER: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "integer"},
            "alerts": {"type": "boolean"},
        },
        "required": ["city"],
    },
}
SEARCH: Any = {"name": "search", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}


async def test_plain_message(anth: anthropic.AsyncAnthropic) -> None:
    reply = await anth.messages.create(model=MODEL, max_tokens=100, system="be terse", messages=ASK)
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.id.startswith("msg_")
    assert reply.model == MODEL
    assert [block.type for block in reply.content] == ["text"]
    assert reply.content[0].text == "Echo: hello from claude"  # type: ignore[union-attr]
    assert reply.stop_reason == "end_turn"
    assert reply.stop_sequence is None
    # system words (2) + message words (3) + 3 for the one message
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (8, 4)


async def test_block_content_max_tokens_and_stop_sequences(anth: anthropic.AsyncAnthropic) -> None:
    blocks: Any = [
        {"role": "user", "content": [{"type": "text", "text": "one two"}, {"type": "text", "text": "three"}]}
    ]
    whole = await anth.messages.create(model=MODEL, max_tokens=100, messages=blocks)
    assert whole.content[0].text == "Echo: one two three"  # type: ignore[union-attr]

    short = await anth.messages.create(model=MODEL, max_tokens=2, messages=blocks)
    assert short.content[0].text == "Echo: one"  # type: ignore[union-attr]
    assert short.stop_reason == "max_tokens"

    stopped = await anth.messages.create(
        model=MODEL, max_tokens=100, messages=blocks, stop_sequences=[" three"]
    )
    assert stopped.content[0].text == "Echo: one two"  # type: ignore[union-attr]
    assert (stopped.stop_reason, stopped.stop_sequence) == ("stop_sequence", " three")


async def test_stream_matches_plain_reply(anth: anthropic.AsyncAnthropic) -> None:
    plain = await anth.messages.create(model=MODEL, max_tokens=100, messages=ASK)
    async with anth.messages.stream(model=MODEL, max_tokens=100, messages=ASK) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert pieces == ["Echo:", " hello", " from", " claude"]
    assert final.content[0].text == plain.content[0].text  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == plain.usage.output_tokens == 4
    assert final.usage.input_tokens == plain.usage.input_tokens


async def test_stream_event_sequence_is_exact(http: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "max_tokens": 100, "messages": ASK, "stream": True}
    response = await http.post("/v1/messages", json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        line.removeprefix("event: ") for line in response.text.splitlines() if line.startswith("event: ")
    ]
    assert events == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * 4,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert response.text.endswith("\n\n")


async def test_tool_use_plain_and_streamed(anth: anthropic.AsyncAnthropic) -> None:
    reply = await anth.messages.create(model=MODEL, max_tokens=100, messages=ASK, tools=[WEATHER, SEARCH])
    assert reply.stop_reason == "tool_use"
    block = reply.content[0]
    assert block.type == "tool_use"
    assert block.name == "get_weather"
    assert block.id.startswith("toolu_")
    assert block.input == {"city": "hello from claude", "days": 1, "alerts": True}

    async with anth.messages.stream(model=MODEL, max_tokens=100, messages=ASK, tools=[WEATHER]) as stream:
        final = await stream.get_final_message()
    streamed = final.content[0]
    assert streamed.type == "tool_use"
    assert (streamed.id, streamed.name, streamed.input) == (block.id, block.name, block.input)
    assert final.stop_reason == "tool_use"


async def test_tool_choice(anth: anthropic.AsyncAnthropic) -> None:
    named = await anth.messages.create(
        model=MODEL,
        max_tokens=100,
        messages=ASK,
        tools=[WEATHER, SEARCH],
        tool_choice={"type": "tool", "name": "search"},
    )
    assert named.content[0].type == "tool_use" and named.content[0].name == "search"
    assert named.content[0].input == {"q": "hello from claude"}

    none = await anth.messages.create(
        model=MODEL, max_tokens=100, messages=ASK, tools=[WEATHER], tool_choice={"type": "none"}
    )
    assert none.content[0].type == "text" and none.stop_reason == "end_turn"


async def test_tool_result_turn_gets_text(anth: anthropic.AsyncAnthropic) -> None:
    first = await anth.messages.create(model=MODEL, max_tokens=100, messages=ASK, tools=[WEATHER])
    tool_use = first.content[0]
    assert tool_use.type == "tool_use"
    conversation: Any = [
        *ASK,
        {"role": "assistant", "content": [tool_use.model_dump()]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "cloudy"}],
        },
    ]
    reply = await anth.messages.create(model=MODEL, max_tokens=100, messages=conversation, tools=[WEATHER])
    assert reply.content[0].type == "text"
    assert reply.content[0].text == "Tool result: cloudy"
    assert reply.stop_reason == "end_turn"


async def test_invalid_request_gets_anthropic_shaped_400(
    anth: anthropic.AsyncAnthropic, http: httpx.AsyncClient
) -> None:
    response = await http.post("/v1/messages", json={"model": MODEL, "messages": ASK})
    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "max_tokens: Field required"},
    }
