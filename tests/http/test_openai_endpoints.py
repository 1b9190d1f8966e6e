"""OpenAI's endpoints through the running gateway, with the official SDK, validated against OpenAI's spec."""

from __future__ import annotations

import base64
import json

import httpx
import openai
import pytest
from support.config import MASTER_KEY
from support.contracts import validate, validate_sse_chat_stream, validate_sse_completion_stream
from support.servers import FakeProvider, Gateway

HELLO = [{"role": "user", "content": "hello there"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def raw_post(gw: Gateway, path: str, body: object) -> httpx.Response:
    return httpx.post(gw.v1 + path, json=body, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet"])
def test_chat_answer_matches_openai_schema_on_fast_and_litellm_paths(client: openai.OpenAI, model: str) -> None:
    raw = client.chat.completions.with_raw_response.create(model=model, messages=HELLO)
    assert raw.headers["x-gateway-request-id"].startswith("req_")
    body = json.loads(raw.content)
    validate("CreateChatCompletionResponse", body)
    assert raw.parse().choices[0].message.content == "Echo: hello there"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet"])
def test_streamed_chat_matches_schema_and_the_plain_answer(gw: Gateway, client: openai.OpenAI, model: str) -> None:
    response = raw_post(gw, "/chat/completions", {"model": model, "messages": HELLO, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["x-gateway-request-id"]
    chunks = validate_sse_chat_stream(response.content)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: hello there"
    streamed = client.chat.completions.create(model=model, messages=HELLO, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text


def test_usage_chunk_only_when_the_client_asks(gw: Gateway) -> None:
    plain = validate_sse_chat_stream(
        raw_post(gw, "/chat/completions", {"model": "gpt-4o-mini", "messages": HELLO, "stream": True}).content
    )
    assert all(c["choices"] for c in plain), "the gateway's own usage request must stay invisible"
    asked = validate_sse_chat_stream(
        raw_post(
            gw,
            "/chat/completions",
            {"model": "gpt-4o-mini", "messages": HELLO, "stream": True, "stream_options": {"include_usage": True}},
        ).content
    )
    assert asked[-1]["choices"] == [] and asked[-1]["usage"]["completion_tokens"] == 3


def test_every_openai_field_reaches_the_upstream_untouched(client: openai.OpenAI, fake: FakeProvider) -> None:
    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=HELLO,
        tools=[WEATHER_TOOL],
        tool_choice="none",
        response_format={"type": "text"},
        n=1,
        stop=["zzz"],
        logprobs=True,
        top_logprobs=2,
        seed=7,
        user="u-1",
        metadata={"team": "a"},
        temperature=0.3,
        extra_body={"vendor_specific": {"x": 1}},
    )
    sent = fake.stats()["last_request"]
    assert sent["model"] == "gpt-4o-mini"
    for field, value in {
        "tool_choice": "none",
        "stop": ["zzz"],
        "logprobs": True,
        "top_logprobs": 2,
        "seed": 7,
        "user": "u-1",
        "metadata": {"team": "a"},
        "temperature": 0.3,
        "vendor_specific": {"x": 1},
        "response_format": {"type": "text"},
    }.items():
        assert sent[field] == value, field
    assert sent["tools"][0]["function"]["name"] == "get_weather"


@pytest.mark.parametrize("model", ["gpt-4o-mini", "claude-sonnet"])
def test_tool_call_is_parsed_by_the_sdk(client: openai.OpenAI, model: str) -> None:
    reply = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "weather in Paris?"}], tools=[WEATHER_TOOL]
    )
    call = reply.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather"
    assert "city" in json.loads(call.function.arguments)
    assert reply.choices[0].finish_reason == "tool_calls"


def test_streamed_tool_call_reassembles(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}], tools=[WEATHER_TOOL], stream=True
    )
    name, arguments = "", ""
    for chunk in stream:
        for delta_call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name += delta_call.function.name or ""
            arguments += delta_call.function.arguments or ""
    assert name == "get_weather"
    assert "city" in json.loads(arguments)


def test_json_mode_answer_is_json(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=HELLO, response_format={"type": "json_object"})
    assert json.loads(reply.choices[0].message.content or "") == {"echo": "hello there"}


def test_completions_plain_and_streamed(gw: Gateway, client: openai.OpenAI) -> None:
    raw = raw_post(gw, "/completions", {"model": "gpt-4o-mini", "prompt": "say hi"})
    validate("CreateCompletionResponse", raw.json())
    assert client.completions.create(model="gpt-4o-mini", prompt="say hi").choices[0].text == "Echo: say hi"
    streamed = raw_post(gw, "/completions", {"model": "gpt-4o-mini", "prompt": "say hi", "stream": True})
    chunks = validate_sse_completion_stream(streamed.content, relax={"completion_stream_null_finish_reason"})
    assert "".join(c["choices"][0]["text"] for c in chunks if c["choices"]) == "Echo: say hi"


def test_embeddings_float_and_base64(gw: Gateway, client: openai.OpenAI) -> None:
    raw = raw_post(gw, "/embeddings", {"model": "text-embedding-3-small", "input": ["a", "b"]})
    validate("CreateEmbeddingResponse", raw.json())
    floats = client.embeddings.create(model="text-embedding-3-small", input="a", encoding_format="float")
    default = client.embeddings.create(model="text-embedding-3-small", input="a")  # the SDK asks for base64
    assert default.data[0].embedding == pytest.approx(floats.data[0].embedding, rel=1e-6)
    b64 = raw_post(gw, "/embeddings", {"model": "text-embedding-3-small", "input": "a", "encoding_format": "base64"})
    assert len(base64.b64decode(b64.json()["data"][0]["embedding"])) == 4 * len(floats.data[0].embedding)


def test_models_list_and_retrieve(gw: Gateway, client: openai.OpenAI) -> None:
    listing = httpx.get(gw.v1 + "/models", headers={"Authorization": f"Bearer {MASTER_KEY}"}).json()
    validate("ListModelsResponse", listing)
    ids = {m.id for m in client.models.list()}
    assert {"gpt-4o-mini", "claude-sonnet", "text-embedding-3-small"} <= ids
    model = client.models.retrieve("gpt-4o-mini")
    validate("Model", model.model_dump())
    assert model.id == "gpt-4o-mini"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_health_endpoints(gw: Gateway) -> None:
    health = httpx.get(gw.url + "/health")
    assert health.json() == {"status": "ok"} and health.headers["x-gateway-request-id"]
    ready = httpx.get(gw.url + "/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"
