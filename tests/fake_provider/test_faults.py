"""Faults: by magic model name (stateless) and through the /_fake/faults control API (stateful)."""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
import httpx2  # the 2.x SDKs are built on httpx2; a cut anthropic stream surfaces its error raw
import openai
import pytest

ASK: Any = [{"role": "user", "content": "one two three four"}]


@pytest.mark.parametrize(
    ("model", "error", "retry_after"),
    [
        ("fail-429", openai.RateLimitError, "0"),
        ("fail-503", openai.InternalServerError, "0"),
        ("fail-500", openai.InternalServerError, None),
        ("fail-400", openai.BadRequestError, None),
        ("fail-401", openai.AuthenticationError, None),
    ],
)
async def test_fail_model_raises_matching_openai_error(
    oai: openai.AsyncOpenAI, model: str, error: type[openai.APIStatusError], retry_after: str | None
) -> None:
    with pytest.raises(error) as raised:
        await oai.chat.completions.create(model=model, messages=ASK)
    assert raised.value.status_code == int(model.removeprefix("fail-"))
    assert raised.value.response.headers.get("retry-after") == retry_after
    body = raised.value.response.json()
    assert set(body["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("model", "error", "kind"),
    [
        ("fail-429", anthropic.RateLimitError, "rate_limit_error"),
        ("fail-529", anthropic.OverloadedError, "overloaded_error"),
        ("fail-500", anthropic.InternalServerError, "api_error"),
    ],
)
async def test_fail_model_raises_matching_anthropic_error(
    anth: anthropic.AsyncAnthropic, model: str, error: type[anthropic.APIStatusError], kind: str
) -> None:
    with pytest.raises(error) as raised:
        await anth.messages.create(model=model, max_tokens=10, messages=ASK)
    body = raised.value.response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == kind


async def test_fail_suffix_is_ignored_and_other_paths_fail_too(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.InternalServerError):
        await oai.embeddings.create(model="fail-503-embedder", input="x")


async def test_slow_model_times_out_the_client(
    oai: openai.AsyncOpenAI, anth: anthropic.AsyncAnthropic
) -> None:
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await oai.chat.completions.create(model="slow-5000", messages=ASK, timeout=0.2)
    with pytest.raises(anthropic.APITimeoutError):
        await anth.messages.create(model="slow-5000", max_tokens=5, messages=ASK, timeout=0.2)
    assert time.monotonic() - started < 2


async def test_slow_model_answers_after_the_delay(oai: openai.AsyncOpenAI) -> None:
    started = time.monotonic()
    reply = await oai.chat.completions.create(model="slow-150", messages=ASK)
    assert time.monotonic() - started >= 0.15
    assert reply.choices[0].message.content == "Echo: one two three four"


async def test_cut_stream_raises_after_n_chunks(oai: openai.AsyncOpenAI) -> None:
    received: list[str] = []
    stream = await oai.chat.completions.create(model="cut-2", messages=ASK, stream=True)
    with pytest.raises(openai.APIConnectionError):
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Echo: one"


async def test_cut_stream_is_not_terminated_on_the_wire(http: httpx.AsyncClient) -> None:
    body = {"model": "cut-1", "messages": ASK, "stream": True}
    seen = b""
    with pytest.raises(httpx.RemoteProtocolError):
        async with http.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            async for data in response.aiter_bytes():
                seen += data
    assert b'"content":"Echo:"' in seen
    assert b"[DONE]" not in seen
    assert b'finish_reason":"stop' not in seen


async def test_cut_without_stream_closes_with_no_response(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.APIConnectionError) as raised:
        await oai.chat.completions.create(model="cut-0", messages=ASK)
    assert not isinstance(raised.value, openai.APITimeoutError)


async def test_cut_anthropic_stream_raises(anth: anthropic.AsyncAnthropic) -> None:
    texts: list[str] = []
    with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
        async with anth.messages.stream(model="cut-1", max_tokens=50, messages=ASK) as stream:
            async for text in stream.text_stream:
                texts.append(text)
    assert texts == ["Echo:"]


async def _add(http: httpx.AsyncClient, **fault: Any) -> dict[str, Any]:
    response = await http.post("/_fake/faults", json=fault)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    assert created["id"]
    return created


async def test_status_fault_expires_after_count(oai: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    await _add(http, model="flaky", kind="status", status=503, retry_after=1, count=2)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError) as raised:
            await oai.chat.completions.create(model="flaky", messages=ASK)
        assert raised.value.response.headers["retry-after"] == "1"
    reply = await oai.chat.completions.create(model="flaky", messages=ASK)
    assert reply.choices[0].message.content == "Echo: one two three four"
    assert (await http.get("/_fake/faults")).json() == {"faults": []}


async def test_fault_filters_on_model_and_path(oai: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    await _add(http, model="target", path="/v1/embeddings", kind="status", status=429)
    await oai.chat.completions.create(model="target", messages=ASK)  # other path
    await oai.embeddings.create(model="bystander", input="x")  # other model
    with pytest.raises(openai.RateLimitError) as raised:
        await oai.embeddings.create(model="target", input="x")
    assert "retry-after" not in raised.value.response.headers


async def test_first_matching_fault_wins_and_wildcard_matches_all(
    oai: openai.AsyncOpenAI, http: httpx.AsyncClient
) -> None:
    await _add(http, model="*", kind="status", status=500, count=1)
    await _add(http, model="*", kind="status", status=429)
    with pytest.raises(openai.InternalServerError):
        await oai.chat.completions.create(model="anything", messages=ASK)
    with pytest.raises(openai.RateLimitError):
        await oai.chat.completions.create(model="anything-else", messages=ASK)
    with pytest.raises(openai.RateLimitError):  # no count: forever
        await oai.chat.completions.create(model="anything", messages=ASK)

    listed = (await http.get("/_fake/faults")).json()["faults"]
    assert [(fault["status"], fault["count"], fault["hits"]) for fault in listed] == [(429, -1, 2)]
    assert (await http.delete("/_fake/faults")).json() == {"cleared": 1}
    await oai.chat.completions.create(model="anything", messages=ASK)


async def test_timeout_fault_hangs_then_drops(oai: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    await _add(http, model="hang", kind="timeout", count=1)  # default hang: 60 s
    with pytest.raises(openai.APITimeoutError):
        await oai.chat.completions.create(model="hang", messages=ASK, timeout=0.2)

    await _add(http, model="hang", kind="timeout", latency_ms=50, count=1)
    started = time.monotonic()
    with pytest.raises(openai.APIConnectionError) as raised:
        await oai.chat.completions.create(model="hang", messages=ASK, timeout=5)
    assert not isinstance(raised.value, openai.APITimeoutError)
    assert time.monotonic() - started >= 0.05


async def test_latency_and_cut_faults(oai: openai.AsyncOpenAI, http: httpx.AsyncClient) -> None:
    await _add(http, model="m", kind="latency", latency_ms=120, count=1)
    started = time.monotonic()
    await oai.chat.completions.create(model="m", messages=ASK)
    assert time.monotonic() - started >= 0.12

    await _add(http, model="m", kind="cut", after_chunks=3, count=1)
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in await oai.chat.completions.create(model="m", messages=ASK, stream=True):
            received.append(chunk.choices[0].delta.content or "")
    assert "".join(received) == "Echo: one two"


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "explode"},
        {"kind": "status", "status": 200},
        {"kind": "status", "count": 0},
        {"kind": "latency", "latency_ms": "soon"},
        {"kind": "status", "model": 5},
    ],
)
async def test_invalid_fault_specs_are_rejected(http: httpx.AsyncClient, fault: dict[str, Any]) -> None:
    response = await http.post("/_fake/faults", json=fault)
    assert response.status_code == 400
    assert "error" in response.json()
    assert (await http.get("/_fake/faults")).json() == {"faults": []}
