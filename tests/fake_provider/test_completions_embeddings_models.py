"""Legacy completions, embeddings (float and base64) and the models endpoints."""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

import httpx
import openai
import pytest

MODEL = "gpt-3.5-turbo-instruct"
EMBEDDER = "text-embedding-3-small"


async def test_completion_echoes_prompt(oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any) -> None:
    reply = await oai.completions.create(model=MODEL, prompt="say this")
    assert reply.object == "text_completion"
    assert reply.choices[0].text == "Echo: say this"
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage is not None
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (2, 3)

    raw = await http.post("/v1/completions", json={"model": MODEL, "prompt": "say this", "logprobs": 1})
    spec.validate("CreateCompletionResponse", raw.json())
    assert raw.json()["choices"][0]["logprobs"]["tokens"] == ["Echo:", " say", " this"]


async def test_prompt_list_and_n_give_prompt_major_choices(oai: openai.AsyncOpenAI) -> None:
    reply = await oai.completions.create(model=MODEL, prompt=["a b", "c"], n=2, max_tokens=2, stop=["zz"])
    assert [(choice.index, choice.text) for choice in reply.choices] == [
        (0, "Echo: a"),
        (1, "Echo: a"),
        (2, "Echo: c"),
        (3, "Echo: c"),
    ]
    assert [choice.finish_reason for choice in reply.choices] == ["length", "length", "stop", "stop"]


async def test_completion_stream(oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any) -> None:
    stream = await oai.completions.create(
        model=MODEL, prompt="stream it", stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(choice.text for chunk in chunks for choice in chunk.choices) == "Echo: stream it"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 3

    raw = await http.post("/v1/completions", json={"model": MODEL, "prompt": "stream it", "stream": True})
    spec.validate_sse_completion_stream(raw.content, relax={"completion_stream_null_finish_reason"})


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(value * value for value in vector))


async def test_float_embeddings_are_deterministic_unit_vectors(
    oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any
) -> None:
    reply = await oai.embeddings.create(
        model=EMBEDDER, input=["alpha", "beta gamma"], encoding_format="float"
    )
    vectors = [item.embedding for item in reply.data]
    assert [item.index for item in reply.data] == [0, 1]
    assert all(len(vector) == 8 for vector in vectors)
    assert all(_norm(vector) == pytest.approx(1.0, abs=1e-5) for vector in vectors)
    assert vectors[0] != vectors[1]
    assert reply.usage.prompt_tokens == reply.usage.total_tokens == 3

    again = await oai.embeddings.create(model=EMBEDDER, input="alpha", encoding_format="float")
    assert again.data[0].embedding == vectors[0]

    raw = await http.post(
        "/v1/embeddings", json={"model": EMBEDDER, "input": "alpha", "encoding_format": "float"}
    )
    spec.validate("CreateEmbeddingResponse", raw.json())


async def test_base64_embeddings_decode_to_the_float_values(
    oai: openai.AsyncOpenAI, http: httpx.AsyncClient
) -> None:
    floats = await oai.embeddings.create(model=EMBEDDER, input="same text", encoding_format="float")
    # Without encoding_format the SDK asks for base64 itself and decodes it.
    decoded = await oai.embeddings.create(model=EMBEDDER, input="same text")
    assert (await http.get("/_fake/stats")).json()["last_request"]["encoding_format"] == "base64"
    assert decoded.data[0].embedding == floats.data[0].embedding

    explicit = await oai.embeddings.create(model=EMBEDDER, input="same text", encoding_format="base64")
    packed = base64.b64decode(str(explicit.data[0].embedding))
    assert list(struct.unpack("<8f", packed)) == floats.data[0].embedding


async def test_embedding_dimensions_and_token_arrays(oai: openai.AsyncOpenAI) -> None:
    wide = await oai.embeddings.create(model=EMBEDDER, input="x", dimensions=32, encoding_format="float")
    assert len(wide.data[0].embedding) == 32
    tokens = await oai.embeddings.create(model=EMBEDDER, input=[[1, 2, 3], [4]], encoding_format="float")
    assert len(tokens.data) == 2
    assert tokens.usage.prompt_tokens == 4


async def test_unusable_embedding_input_is_a_400(oai: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError):
        await oai.embeddings.create(model=EMBEDDER, input=[])


async def test_models_list_and_retrieve(oai: openai.AsyncOpenAI, http: httpx.AsyncClient, spec: Any) -> None:
    await oai.chat.completions.create(model="my-custom-model", messages=[{"role": "user", "content": "hi"}])
    listed = [model.id async for model in oai.models.list()]
    assert {"fake-model", "gpt-4o-mini", "gpt-4o", "text-embedding-3-small"} <= set(listed)
    assert "my-custom-model" in listed

    retrieved = await oai.models.retrieve("vendor/anything-at-all")
    assert (retrieved.id, retrieved.object) == ("vendor/anything-at-all", "model")

    spec.validate("ListModelsResponse", (await http.get("/v1/models")).json())
    spec.validate("Model", (await http.get("/v1/models/x")).json())
