"""OpenAI tool calling, streamed and not, parsed by the official SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageFunctionToolCall

MODEL = "gpt-4o"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "days": {"type": "integer"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "hourly": {"type": "boolean"},
            },
            "required": ["city"],
        },
    },
}
SEARCH: Any = {
    "type": "function",
    "function": {
        "name": "search",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}
ASK: Any = [{"role": "user", "content": "weather in Paris"}]
EXPECTED_WEATHER_ARGS = {"city": "weather in Paris", "days": 1, "unit": "celsius", "hourly": True}


def _only_call(message: ChatCompletionMessage) -> ChatCompletionMessageFunctionToolCall:
    """The message's single tool call, which must be a function call."""
    assert message.tool_calls is not None and len(message.tool_calls) == 1
    call = message.tool_calls[0]
    assert isinstance(call, ChatCompletionMessageFunctionToolCall)
    return call


async def test_tool_call_reply(oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any) -> None:
    reply = await oai.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER, SEARCH])

    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    call = _only_call(choice.message)
    assert call.id.startswith("call_") and len(call.id) > len("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == EXPECTED_WEATHER_ARGS

    raw = await http.post("/v1/chat/completions", json={"model": MODEL, "messages": ASK, "tools": [WEATHER]})
    spec.validate("CreateChatCompletionResponse", raw.json())


async def test_tool_choice_names_the_function(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(
        model=MODEL,
        messages=ASK,
        tools=[WEATHER, SEARCH],
        tool_choice={"type": "function", "function": {"name": "search"}},
    )
    call = _only_call(reply.choices[0].message)
    assert call.function.name == "search"
    assert json.loads(call.function.arguments) == {"query": "weather in Paris"}


async def test_tool_choice_none_answers_in_text(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER], tool_choice="none")
    assert reply.choices[0].message.tool_calls is None
    assert reply.choices[0].message.content == "Echo: weather in Paris"
    assert reply.choices[0].finish_reason == "stop"


async def test_after_a_tool_result_the_reply_is_text(oai: openai.AsyncOpenAI) -> None:
    first = await oai.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER])
    call = _only_call(first.choices[0].message)
    follow_up: Any = [
        *ASK,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "rainy"},
    ]
    reply = await oai.chat.completions.create(model=MODEL, messages=follow_up, tools=[WEATHER])
    assert reply.choices[0].message.content == "Tool result: rainy"
    assert reply.choices[0].finish_reason == "stop"


async def test_streamed_tool_call_accumulates_to_the_same_call(
    oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any
) -> None:
    plain = await oai.chat.completions.create(model=MODEL, messages=ASK, tools=[WEATHER])
    expected = _only_call(plain.choices[0].message)

    async with oai.chat.completions.stream(model=MODEL, messages=ASK, tools=[WEATHER]) as stream:
        final = await stream.get_final_completion()
    streamed = _only_call(final.choices[0].message)
    assert final.choices[0].finish_reason == "tool_calls"
    assert (streamed.id, streamed.function.name) == (expected.id, expected.function.name)
    assert json.loads(streamed.function.arguments) == EXPECTED_WEATHER_ARGS

    body = {"model": MODEL, "messages": ASK, "tools": [WEATHER], "stream": True}
    chunks = spec.validate_sse_chat_stream((await http.post("/v1/chat/completions", json=body)).content)
    opening = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
    assert opening == {
        "index": 0,
        "id": expected.id,
        "type": "function",
        "function": {"name": "get_weather", "arguments": ""},
    }
    fragments = [
        chunk["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] for chunk in chunks[1:-1]
    ]
    assert len(fragments) > 1  # arguments really arrive in pieces
    assert "".join(fragments) == expected.function.arguments
