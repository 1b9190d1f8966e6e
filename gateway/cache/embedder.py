"""Embedders of the semantic cache: the process's local all-MiniLM-L6-v2 (numpy, no torch, offline), or an
embedding model of the config, called through the gateway's own router (its retries, fallbacks and cooldowns).

Both return one unit-length float32 vector per text and raise on failure; the semantic cache turns a failure or
a late answer into a miss. The local one runs in a worker thread and refuses (``EmbedderBusy``) rather than queue
when ``MAX_RUNNING`` encodings are already running: a thread left behind by a deadline still runs to its end, and
a backlog of them would make every later lookup late too.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Protocol

import numpy as np
import orjson

from gateway.localmodels import LocalModels
from gateway.providers.base import UpstreamRequest

if TYPE_CHECKING:
    from gateway.routing.deployment import Deployment
    from gateway.routing.router import Router

MAX_RUNNING = 2
ROUTED_TIMEOUT = 10.0  # seconds; the lookup's own deadline is much shorter, this bounds a background embed


class EmbedderBusy(RuntimeError):
    """Every encoding slot is taken: the lookup misses instead of waiting."""


class Embedder(Protocol):
    name: str

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        """``wait``: queue for a free slot (background filing) rather than refuse (a lookup)."""
        ...


class LocalEmbedder:
    name = "all-MiniLM-L6-v2"

    def __init__(self, models: LocalModels) -> None:
        self._models = models
        self._slots = asyncio.Semaphore(MAX_RUNNING)  # released when the thread ends, not when its waiter left

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        model = await self._models.minilm()
        if self._slots.locked() and not wait:
            raise EmbedderBusy(f"{MAX_RUNNING} encodings running")
        await self._slots.acquire()
        future = asyncio.get_running_loop().run_in_executor(None, model.encode, [text])
        future.add_done_callback(lambda _: self._slots.release())
        vectors = await asyncio.shield(future)
        return np.asarray(vectors[0], dtype=np.float32)


class RoutedEmbedder:
    """An embedding model of the config (``gateway.cache.embedding_model``), through the router."""

    def __init__(self, router: Router, model: str) -> None:
        self._router = router
        self.name = model

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        async def call(deployment: Deployment) -> bytes:
            body = {"model": deployment.upstream_model, "input": [text], "encoding_format": "float"}
            return (await deployment.provider.complete(UpstreamRequest("embeddings", body, ROUTED_TIMEOUT))).body

        answer, _ = await self._router.call(self.name, call)
        vector = np.asarray(orjson.loads(answer)["data"][0]["embedding"], dtype=np.float32)
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector
