"""The fake's Responses API (``POST /v1/responses``) and Anthropic token count, through the official SDKs."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from support.contracts import validate, validate_sse_responses_stream

TOOL = {"type": "function", "name": "get_weather", "strict": True,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"],
                       "additionalProperties": False}}


async def test_a_plain_response_echoes_and_matches_the_schema(oai: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    response = await oai.responses.create(model="gpt-4o-mini", input="hello fake", instructions="be brief")
    assert response.output_text == "Echo: hello fake"
    raw = await http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hi", "tools": [TOOL]})
    validate("Response", raw.json())


async def test_a_stream_is_typed_events_without_done(http: httpx.AsyncClient) -> None:
    raw = await http.post("/v1/responses", json={"model": "gpt-4o-mini", "input": "hello fake", "stream": True})
    events = validate_sse_responses_stream(raw.content)
    assert b"[DONE]" not in raw.content
    assert "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta") == "Echo: hello fake"


async def test_a_tool_call_and_its_output(oai: openai.AsyncOpenAI) -> None:
    first = await oai.responses.create(model="gpt-4o-mini", input="weather in Paris?", tools=[TOOL])  # type: ignore[list-item]
    call = next(item for item in first.output if item.type == "function_call")
    second = await oai.responses.create(
        model="gpt-4o-mini", tools=[TOOL],  # type: ignore[list-item]
        input=[{"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
               {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "Tool result: sunny"


async def test_a_built_in_tool_is_a_400(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError, match="web_search"):
        await oai.responses.create(model="gpt-4o-mini", input="x", tools=[{"type": "web_search"}])


async def test_anthropic_count_tokens(anth: anthropic.AsyncAnthropic) -> None:
    counted = await anth.messages.count_tokens(
        model="claude-3-5-sonnet-20241022", messages=[{"role": "user", "content": "one two three"}]
    )
    assert counted.input_tokens > 3
