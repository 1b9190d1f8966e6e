"""Streams and the cache: a streamed hit is replayed as a live stream would be (OpenAI's chunk schema, content in
pieces, tool-call deltas, the usage chunk only when asked), whichever form the answer was stored from; a stream
is stored only when it ended cleanly; /v1/messages hits work with the Anthropic SDK."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx
import openai
import pytest
from support.caching import MODEL, ask, entries, wait_filed
from support.config import MASTER_KEY
from support.contracts import validate, validate_sse_chat_stream
from support.servers import FakeProvider, Gateway

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def post(server: Gateway, body: dict[str, Any]) -> httpx.Response:
    response = httpx.post(server.v1 + "/chat/completions", json=body, timeout=60,
                          headers={"authorization": f"Bearer {MASTER_KEY}"})
    assert response.status_code == 200, response.text
    return response


def streamed(server: Gateway, text: str, **extra: Any) -> tuple[list[dict[str, Any]], httpx.Response]:
    body = {"model": extra.pop("model", MODEL), "messages": [{"role": "user", "content": text}], "stream": True}
    response = post(server, {**body, **extra})
    return validate_sse_chat_stream(response.content), response


def content(chunks: list[dict[str, Any]]) -> str:
    return "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])


def test_a_streamed_hit_replays_like_a_live_stream_and_validates_chunk_by_chunk(
    cached: Gateway, fake: FakeProvider
) -> None:
    text = "Please describe in a few words how tides are caused by the moon"
    before = entries(cached)
    live, response = streamed(cached, text)
    assert response.headers["x-gateway-cache"] == "miss"
    wait_filed(cached, before + 1)
    replayed, response = streamed(cached, text)
    assert response.headers["x-gateway-cache"] == "hit"
    assert content(replayed) == content(live) == f"Echo: {text}"
    assert replayed[0]["choices"][0]["delta"]["role"] == "assistant"
    assert len([c for c in replayed if c["choices"] and c["choices"][0]["delta"].get("content")]) > 3
    assert replayed[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"] for c in replayed), "no usage chunk unless the client asked"
    asked, _ = streamed(cached, text, stream_options={"include_usage": True})
    assert asked[-1]["choices"] == [] and asked[-1]["usage"]["completion_tokens"] > 0
    assert fake.count(MODEL) == 1


def test_a_plain_answer_serves_a_stream_and_a_stream_serves_a_plain_answer(
    cached: Gateway, sdk: openai.OpenAI, fake: FakeProvider
) -> None:
    before = entries(cached)
    plain, _ = ask(sdk, "Name three primary colours of light")
    streamed(cached, "List the planets of the solar system in order")
    wait_filed(cached, before + 2)
    replayed, response = streamed(cached, "Name three primary colours of light")
    assert response.headers["x-gateway-cache"] == "hit" and content(replayed) == plain
    raw = post(cached, {"model": MODEL, "messages": [{"role": "user", "content":
                                                      "List the planets of the solar system in order"}]})
    assert raw.headers["x-gateway-cache"] == "hit"
    validate("CreateChatCompletionResponse", raw.json())
    assert raw.json()["choices"][0]["message"]["content"] == "Echo: List the planets of the solar system in order"
    assert fake.count(MODEL) == 2


def test_tool_call_answers_are_stored_only_where_enabled_and_replay_as_deltas(
    cached: Gateway, fake: FakeProvider
) -> None:
    text = "What is the weather in Lisbon today?"
    body = {"messages": [{"role": "user", "content": text}], "tools": [WEATHER], "stream": True}
    before = entries(cached)
    post(cached, {**body, "model": MODEL})
    post(cached, {**body, "model": "backup"})
    wait_filed(cached, before + 1)  # only backup's: gpt-4o-mini does not keep tool calls
    again = post(cached, {**body, "model": MODEL})
    assert again.headers["x-gateway-cache"] == "miss"
    replayed = post(cached, {**body, "model": "backup"})
    assert replayed.headers["x-gateway-cache"] == "hit"
    chunks = validate_sse_chat_stream(replayed.content)
    calls = [c["choices"][0]["delta"]["tool_calls"][0] for c in chunks
             if c["choices"] and c["choices"][0]["delta"].get("tool_calls")]
    assert calls[0]["function"]["name"] == "get_weather" and calls[0]["id"]
    assert '"city"' in "".join(call["function"].get("arguments") or "" for call in calls)
    assert chunks[-1]["choices"][0]["finish_reason"] == "tool_calls"
    assert fake.count(MODEL) == 2 and fake.count("backup-model") == 1


def test_errors_and_cut_streams_are_never_stored(cached: Gateway, fake: FakeProvider) -> None:
    client = openai.OpenAI(base_url=cached.v1, api_key=MASTER_KEY, max_retries=0)
    for _ in range(2):
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="always-400", messages=[{"role": "user", "content": "hi"}])
    assert fake.count("fail-400") == 2
    for _ in range(2):
        with pytest.raises(openai.APIError):
            stream = client.chat.completions.create(
                model="cut", messages=[{"role": "user", "content": "tell me a long story"}], stream=True)
            for _chunk in stream:
                pass
    assert fake.count("cut-2") == 2


def test_anthropic_messages_hits_work_with_the_anthropic_sdk(cached: Gateway, fake: FakeProvider) -> None:
    claude = anthropic.Anthropic(base_url=cached.url, api_key=MASTER_KEY, max_retries=0)
    question = [{"role": "user", "content": "Why is the sky blue during the day?"}]
    before = entries(cached)
    first = claude.messages.create(model=MODEL, max_tokens=64, messages=question)  # type: ignore[arg-type]
    wait_filed(cached, before + 1)
    raw = claude.messages.with_raw_response.create(model=MODEL, max_tokens=64, messages=question)  # type: ignore[arg-type]
    assert raw.headers["x-gateway-cache"] == "hit"
    assert raw.parse().content[0].text == first.content[0].text  # type: ignore[union-attr]
    with claude.messages.stream(model=MODEL, max_tokens=64, messages=question) as stream:  # type: ignore[arg-type]
        text = "".join(stream.text_stream)
    assert text == first.content[0].text  # type: ignore[union-attr]
    assert fake.count(MODEL) == 1
