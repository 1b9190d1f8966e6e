"""The runner's ``ModelServices``: judge and embedding calls for model-assisted assertions.

Judge calls and gateway embeddings go through the gateway (tagged ``eval,suite:<name>,judge``) and through the
run cache, so a repeat run makes no call at all. ``local:minilm`` embeddings are computed in a worker thread,
one batch at a time, with the model loaded on first use. Vectors are remembered per run, so a reference text
shared by many cases is embedded once.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.evals.assertions.model import ModelCallFailed
from gateway.evals.cache import RunCache, cache_key
from gateway.evals.client import Target
from gateway.evals.model import LOCAL_EMBEDDING


class RunnerServices:
    def __init__(self, target: Target, cache: RunCache, suite_name: str) -> None:
        self.target = target
        self.cache = cache
        self.tags = f"eval,suite:{suite_name},judge"
        self._vectors: dict[tuple[str, str], list[float]] = {}
        self._local: Any = None
        self._local_lock = asyncio.Lock()

    async def judge(self, model: str, body: dict[str, Any]) -> str:
        return _message_text(await self._cached_post("judge", "/v1/chat/completions", body))

    async def _cached_post(self, kind: str, path: str, body: dict[str, Any]) -> Any:
        """A model call through the gateway, answered from the run cache when the same call was made before."""
        key = cache_key(kind, self.target.identity, body)
        data = self.cache.get(key)
        if data is None:
            reply = await self.target.client.post(path, body, tags=self.tags)
            if not reply.ok:
                raise ModelCallFailed(reply.error or f"HTTP {reply.status}")
            data = reply.body
            self.cache.put(key, data)
        return data

    async def embed(self, provider: str, texts: list[str]) -> list[list[float]]:
        missing = list(dict.fromkeys(t for t in texts if (provider, t) not in self._vectors))
        if missing:
            vectors = await (
                self._local_embed(missing) if provider == LOCAL_EMBEDDING else self._gateway_embed(provider, missing)
            )
            for text, vector in zip(missing, vectors, strict=True):
                self._vectors[(provider, text)] = vector
        return [self._vectors[(provider, t)] for t in texts]

    async def _local_embed(self, texts: list[str]) -> list[list[float]]:
        async with self._local_lock:  # one batch at a time: the model is not shared between threads
            if self._local is None:
                try:
                    from gateway.localmodels.minilm import MiniLM, ModelUnavailable  # noqa: PLC0415 - numpy, local model
                except ImportError as exc:  # numpy or tokenizers missing
                    raise ModelCallFailed(f"the local model needs numpy and tokenizers: {exc}") from exc
                try:
                    self._local = await asyncio.to_thread(MiniLM)
                except ModelUnavailable as exc:
                    raise ModelCallFailed(str(exc)) from exc
            matrix = await asyncio.to_thread(self._local.encode, texts)
        return [list(map(float, row)) for row in matrix]

    async def _gateway_embed(self, model: str, texts: list[str]) -> list[list[float]]:
        body = {"model": model, "input": texts}
        data = await self._cached_post("embed", "/v1/embeddings", body)
        items = sorted(data.get("data") or [], key=lambda item: item.get("index", 0))
        vectors = [item.get("embedding") for item in items]
        if len(vectors) != len(texts) or not all(isinstance(v, list) for v in vectors):
            raise ModelCallFailed(f"{model} returned {len(vectors)} float vectors for {len(texts)} texts")
        return vectors


def _message_text(body: Any) -> str:
    """The judge's answer text: the message content, or a tool call's arguments."""
    try:
        message = body["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise ModelCallFailed("the judge's answer has no message") from None
    content = message.get("content")
    if isinstance(content, str) and content:
        return content
    for call in message.get("tool_calls") or []:
        arguments = (call.get("function") or {}).get("arguments")
        if isinstance(arguments, str):
            return arguments
    return ""
