"""Chat completions through the official openai SDK, plus raw bodies checked against the OpenAPI spec."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pydantic

MODEL = "gpt-4o-mini"


def _user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


async def test_reply_echoes_last_user_message_and_counts_words(oai: openai.AsyncOpenAI) -> None:
    messages: list[Any] = [
        {"role": "system", "content": "be very brief"},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "second question here"},
    ]
    reply = await oai.chat.completions.create(model=MODEL, messages=messages)

    choice = reply.choices[0]
    assert choice.message.content == "Echo: second question here"
    assert choice.message.role == "assistant"
    assert choice.finish_reason == "stop"
    assert reply.model == MODEL
    assert reply.id.startswith("chatcmpl-")
    assert reply.system_fingerprint == "fp_fake"
    assert reply.usage is not None
    # 3 + 2 + 1 + 3 words, plus 3 per message
    assert reply.usage.prompt_tokens == 9 + 4 * 3
    assert reply.usage.completion_tokens == 4
    assert reply.usage.total_tokens == 25


async def test_content_parts_are_joined_and_non_text_parts_ignored(oai: openai.AsyncOpenAI) -> None:
    parts: Any = [
        {"type": "text", "text": "look at"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "text", "text": "this"},
    ]
    reply = await oai.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": parts}])
    assert reply.choices[0].message.content == "Echo: look at this"


async def test_tool_message_last_gives_tool_result_reply(oai: openai.AsyncOpenAI) -> None:
    messages: list[Any] = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny and 21C"},
    ]
    reply = await oai.chat.completions.create(model=MODEL, messages=messages)
    assert reply.choices[0].message.content == "Tool result: sunny and 21C"


async def test_raw_reply_matches_openapi_schema(http: httpx.AsyncClient, spec: Any) -> None:
    body = {"model": MODEL, "messages": _user("hello"), "n": 2, "logprobs": True, "top_logprobs": 2}
    response = await http.post("/v1/chat/completions", json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    spec.validate("CreateChatCompletionResponse", response.json())


async def test_stream_concatenates_to_the_non_streamed_text(
    oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any
) -> None:
    messages = _user("stream  me please")
    plain = await oai.chat.completions.create(model=MODEL, messages=messages)
    stream = await oai.chat.completions.create(model=MODEL, messages=messages, stream=True)
    chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[0].choices[0].delta.content == ""
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == plain.choices[0].message.content == "Echo: stream  me please"
    assert [chunk.choices[0].delta.content for chunk in chunks[1:-1]] == [
        "Echo:",
        " stream",
        "  me",
        " please",
    ]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].choices[0].delta.content is None
    assert len({chunk.id for chunk in chunks}) == 1

    raw = await http.post("/v1/chat/completions", json={"model": MODEL, "messages": messages, "stream": True})
    assert raw.headers["content-type"].startswith("text/event-stream")
    spec.validate_sse_chat_stream(raw.content)


async def test_usage_chunk_only_when_asked(http: httpx.AsyncClient, spec: Any) -> None:
    body: dict[str, Any] = {"model": MODEL, "messages": _user("count my words"), "stream": True}
    without = spec.validate_sse_chat_stream((await http.post("/v1/chat/completions", json=body)).content)
    assert all("usage" not in chunk for chunk in without)
    assert all(chunk["choices"] for chunk in without)

    body["stream_options"] = {"include_usage": True}
    with_usage = spec.validate_sse_chat_stream((await http.post("/v1/chat/completions", json=body)).content)
    *content, last = with_usage
    assert last["choices"] == []
    assert last["usage"]["prompt_tokens"] == 3 + 3
    assert last["usage"]["completion_tokens"] == 4
    assert all(chunk["usage"] is None for chunk in content)


async def test_json_object_response_format(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(
        model=MODEL, messages=_user("give json"), response_format={"type": "json_object"}
    )
    assert json.loads(reply.choices[0].message.content or "") == {"echo": "give json"}


async def test_json_schema_response_format_synthesises_every_property(oai: openai.AsyncOpenAI) -> None:
    schema: Any = {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "score": {"type": "number"},
            "ok": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "level": {"type": "string", "enum": ["low", "high"]},
            "address": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "zip": {"type": "integer"}},
            },
        },
        "required": ["name"],
    }
    reply = await oai.chat.completions.create(
        model=MODEL,
        messages=_user("Ada"),
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema}},
    )
    assert json.loads(reply.choices[0].message.content or "") == {
        "name": "Ada",
        "age": 1,
        "score": 1,
        "ok": True,
        "tags": [],
        "level": "low",
        "address": {"city": "Ada", "zip": 1},
    }


class _Address(pydantic.BaseModel):
    city: str
    zip: int


class _Person(pydantic.BaseModel):
    name: str
    home: _Address
    nickname: str | None


async def test_sdk_parse_with_pydantic_model_and_defs(oai: openai.AsyncOpenAI) -> None:
    parsed = await oai.chat.completions.parse(model=MODEL, messages=_user("Grace"), response_format=_Person)
    assert parsed.choices[0].message.parsed == _Person(
        name="Grace", home=_Address(city="Grace", zip=1), nickname="Grace"
    )


async def test_n_gives_identical_choices(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(model=MODEL, messages=_user("twice please"), n=2)
    assert [choice.index for choice in reply.choices] == [0, 1]
    assert {choice.message.content for choice in reply.choices} == {"Echo: twice please"}
    assert reply.usage is not None
    assert reply.usage.completion_tokens == 2 * 3


async def test_max_tokens_truncates_words_with_length(oai: openai.AsyncOpenAI) -> None:
    messages = _user("one two three four")
    reply = await oai.chat.completions.create(model=MODEL, messages=messages, max_tokens=3)
    assert reply.choices[0].message.content == "Echo: one two"
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage is not None and reply.usage.completion_tokens == 3

    newer = await oai.chat.completions.create(model=MODEL, messages=messages, max_completion_tokens=2)
    assert newer.choices[0].message.content == "Echo: one"
    roomy = await oai.chat.completions.create(model=MODEL, messages=messages, max_tokens=50)
    assert roomy.choices[0].finish_reason == "stop"


async def test_stop_cuts_before_the_earliest_sequence(oai: openai.AsyncOpenAI) -> None:
    messages = _user("alpha beta gamma delta")
    reply = await oai.chat.completions.create(model=MODEL, messages=messages, stop=[" delta", " gamma"])
    assert reply.choices[0].message.content == "Echo: alpha beta"
    assert reply.choices[0].finish_reason == "stop"
    single = await oai.chat.completions.create(model=MODEL, messages=messages, stop="ta")
    assert single.choices[0].message.content == "Echo: alpha be"


async def test_logprobs_one_entry_per_word(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.chat.completions.create(
        model=MODEL, messages=_user("log me"), logprobs=True, top_logprobs=2
    )
    logprobs = reply.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert [entry.token for entry in logprobs.content] == ["Echo:", " log", " me"]
    assert all(entry.logprob == -0.1 and len(entry.top_logprobs) == 2 for entry in logprobs.content)
    assert logprobs.content[1].bytes == list(b" log")

    plain = await oai.chat.completions.create(model=MODEL, messages=_user("log me"))
    assert plain.choices[0].logprobs is None


async def test_same_request_same_body_except_created(http: httpx.AsyncClient) -> None:
    body = {"model": MODEL, "messages": _user("determinism"), "n": 2}
    first = (await http.post("/v1/chat/completions", json=body)).json()
    second = (await http.post("/v1/chat/completions", json=body)).json()
    first.pop("created")
    second.pop("created")
    assert first == second
    other = (await http.post("/v1/chat/completions", json={**body, "n": 1})).json()
    assert other["id"] != first["id"]


async def test_bad_requests_get_openai_shaped_400(http: httpx.AsyncClient) -> None:
    no_messages = await http.post("/v1/chat/completions", json={"model": MODEL})
    not_json = await http.post("/v1/chat/completions", content=b"{nope")
    no_model = await http.post("/v1/chat/completions", json={"messages": _user("x")})
    for response in (no_messages, not_json, no_model):
        assert response.status_code == 400
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
