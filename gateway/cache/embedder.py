"""Embedders of the semantic cache: the process's local all-MiniLM-L6-v2 (numpy, no torch, offline), or an
embedding model of the config, called through the gateway's own router (its retries, fallbacks and cooldowns).

Both return one unit-length float32 vector per text and raise on failure; the semantic cache turns a failure or
a late answer into a miss. The local one is CPU on the gateway's own core (about 9 ms for one short sentence, 5-6 ms
each in a batch of eight, on the 2-core EPYC of the benchmarks), so it is bounded three ways:
- one worker encodes at a time, texts that arrive meanwhile together in the next forward pass (``MAX_BATCH``
  lookups; filings only when no lookup waits, ``FILING_BATCH`` at a time);
- it may use at most ``CPU_SHARE`` of one core over time (``BURST`` seconds of CPU at once after an idle spell):
  under load the rest of the gateway keeps the core, and the requests past the share are not looked up;
- a lookup is refused (``EmbedderBusy``: a miss, counted) rather than queued when the share is spent or a batch's
  worth of lookups already waits; texts to file wait in a bounded queue (``MAX_QUEUED``), past which they are
  dropped (counted). Lookups go first: a lookup's vector also files its request, a filing's only files.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from typing import TYPE_CHECKING, Protocol

import numpy as np
import orjson

from gateway.localmodels import LocalModels
from gateway.providers.base import UpstreamRequest

if TYPE_CHECKING:
    from gateway.localmodels.minilm import MiniLM
    from gateway.routing.deployment import Deployment
    from gateway.routing.router import Router

MAX_BATCH = 8  # texts per forward pass: a batch of eight takes ~50 ms, about a lookup's deadline
FILING_BATCH = 2  # texts to file per pass: what a lookup arriving meanwhile may have to wait for (~15 ms)
MAX_QUEUED = 64  # texts waiting to be filed; past that a filing is dropped
CPU_SHARE = 0.25  # of one core, over time
BURST = 0.25  # seconds of CPU the local embedder may use at once after an idle spell
ROUTED_TIMEOUT = 10.0  # seconds; the lookup's own deadline is much shorter, this bounds a background embed


class EmbedderBusy(RuntimeError):
    """The embedder will not take this text now: the lookup misses instead of waiting, the filing is dropped."""


class Embedder(Protocol):
    name: str

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        """``wait``: queue (background filing) rather than refuse when busy (a lookup)."""
        ...

    def stats(self) -> dict[str, float]:
        """What the embedder did since the start (for ``/admin/cache``)."""
        ...

    async def aclose(self) -> None: ...


class CpuBudget:
    """A token bucket of CPU seconds: refills at ``share`` seconds per second, holds at most ``burst``."""

    def __init__(self, share: float, burst: float) -> None:
        self.share = share
        self.burst = burst
        self._level = burst
        self._at = time.monotonic()

    def level(self) -> float:
        now = time.monotonic()
        self._level = min(self.burst, self._level + (now - self._at) * self.share)
        self._at = now
        return self._level

    def charge(self, seconds: float) -> None:
        self._level = self.level() - seconds

    def wait(self) -> float:
        """Seconds until there is CPU to spend again (0 when there is now)."""
        level = self.level()
        return 0.0 if level > 0 else -level / self.share + 0.001


_Job = tuple[str, "asyncio.Future[np.ndarray]"]


class LocalEmbedder:
    name = "all-MiniLM-L6-v2"

    def __init__(self, models: LocalModels, budget: CpuBudget | None = None) -> None:
        self._models = models
        self.budget = budget or CpuBudget(CPU_SHARE, BURST)
        self._lookups: deque[_Job] = deque()
        self._filings: deque[_Job] = deque()
        self._wake = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._counts = {"texts": 0, "batches": 0, "cpu_seconds": 0.0, "refused": 0, "dropped": 0}

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        await self._models.minilm()  # the load (once) is not the budget's: it happens at start-up, in a thread
        queue = self._filings if wait else self._lookups
        if wait and len(queue) >= MAX_QUEUED:
            self._counts["dropped"] += 1
            raise EmbedderBusy(f"{MAX_QUEUED} texts already wait to be filed")
        if not wait and (len(queue) >= MAX_BATCH or self.budget.level() <= 0):
            self._counts["refused"] += 1
            raise EmbedderBusy("the local embedder's CPU share is spent or a batch of lookups already waits")
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        queue.append((text, future))
        self._wake.set()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        return await future  # a caller that gives up cancels its future: the worker then skips the text

    def stats(self) -> dict[str, float]:
        return {**self._counts, "cpu_seconds": round(self._counts["cpu_seconds"], 3),
                "queued": len(self._lookups) + len(self._filings)}

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker

    async def _work(self) -> None:
        model = await self._models.minilm()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._lookups or self._filings:
                if self.budget.wait() > 0:
                    self._refuse_lookups()  # they would wait for the share past their deadline: misses now
                    await asyncio.sleep(self.budget.wait())
                batch = self._take()
                if batch:
                    await self._run(model, batch)

    def _refuse_lookups(self) -> None:
        while self._lookups:
            _, future = self._lookups.popleft()
            if not future.done():
                self._counts["refused"] += 1
                future.set_exception(EmbedderBusy("the local embedder's CPU share is spent"))

    def _take(self) -> list[_Job]:
        """The next forward pass: the waiting lookups alone (up to ``MAX_BATCH``), else up to ``FILING_BATCH``
        filings, so that a lookup arriving meanwhile waits for a short batch, not for eight texts to file."""
        queue, size = (self._lookups, MAX_BATCH) if self._lookups else (self._filings, FILING_BATCH)
        batch: list[_Job] = []
        while queue and len(batch) < size:
            job = queue.popleft()
            if not job[1].done():
                batch.append(job)
        return batch

    async def _run(self, model: MiniLM, batch: list[_Job]) -> None:
        try:
            vectors, seconds = await asyncio.to_thread(_encode, model, [text for text, _ in batch])
        except Exception as exc:  # every caller of the batch gets the failure; the worker goes on
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        self.budget.charge(seconds)
        self._counts["texts"] += len(batch)
        self._counts["batches"] += 1
        self._counts["cpu_seconds"] += seconds
        for (_, future), vector in zip(batch, vectors, strict=True):
            if not future.done():
                future.set_result(vector)


def _encode(model: MiniLM, texts: list[str]) -> tuple[np.ndarray, float]:
    """In the worker thread: the vectors, and the CPU time this thread spent on them."""
    started = time.thread_time()
    vectors = model.encode(texts)
    return vectors, time.thread_time() - started


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

    def stats(self) -> dict[str, float]:
        return {}

    async def aclose(self) -> None:
        return None
