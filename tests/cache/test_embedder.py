"""The semantic cache's embedders under load: the local MiniLM batches texts that arrive together, stays within
its CPU share, refuses lookups and bounds the filing queue (counting both); a request costs one embedding even
when its lookup gives up waiting for it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from gateway.cache import embedder as embedders
from gateway.cache.embedder import CpuBudget, EmbedderBusy, LocalEmbedder
from gateway.cache.semantic import SemanticCache
from gateway.cache.semantic_setup import semantic_cache
from gateway.config.models import CacheSettings
from gateway.localmodels import LocalModels

TEXTS = ["How do I reset my password?", "What is the capital of Peru?", "Convert 100 dollars to euros",
         "Why is the sky blue?", "How long should I boil an egg?", "What does HTTP 503 mean?"]


@pytest.fixture(scope="module")
def models() -> LocalModels:
    loaded = LocalModels()
    asyncio.run(loaded.minilm())  # loaded once, before the tests' own event loops
    return loaded


def test_texts_that_arrive_together_are_encoded_in_one_pass_each_getting_its_own_vector(models: LocalModels) -> None:
    async def run() -> tuple[list[np.ndarray], dict[str, float], np.ndarray]:
        local = LocalEmbedder(models)
        vectors = await asyncio.gather(*(local.embed(text) for text in TEXTS))
        alone = (await models.minilm()).encode(TEXTS)
        await local.aclose()
        return vectors, local.stats(), alone

    vectors, stats, alone = asyncio.run(run())
    np.testing.assert_allclose(np.stack(vectors), alone, atol=1e-6)
    assert stats["texts"] == len(TEXTS) and stats["batches"] == 1 and stats["cpu_seconds"] > 0


def test_past_its_cpu_share_lookups_are_refused_and_filings_wait_their_turn(models: LocalModels) -> None:
    async def run() -> tuple[np.ndarray, dict[str, float]]:
        budget = CpuBudget(share=10.0, burst=0.01)
        local = LocalEmbedder(models, budget)
        budget.charge(0.5)  # 50 ms of debt at ten CPU-seconds per second
        with pytest.raises(EmbedderBusy):
            await local.embed(TEXTS[0])
        vector = await local.embed(TEXTS[0], wait=True)  # queued until the share allows it
        await local.aclose()
        return vector, local.stats()

    vector, stats = asyncio.run(run())
    assert vector.shape == (384,) and stats["refused"] == 1 and stats["texts"] == 1


def test_a_queued_lookup_is_refused_at_once_when_the_share_runs_out_rather_than_waiting_past_its_deadline(
    models: LocalModels,
) -> None:
    async def run() -> tuple[float, dict[str, float]]:
        budget = CpuBudget(share=0.01, burst=0.001)  # one batch spends it; the refill would take about a second
        local = LocalEmbedder(models, budget)
        first = asyncio.ensure_future(local.embed(TEXTS[0]))
        seen_queued = False
        while not seen_queued or local.stats()["queued"]:  # until it was queued, then taken by the worker
            seen_queued = seen_queued or bool(local.stats()["queued"])
            await asyncio.sleep(0)
        started = asyncio.get_running_loop().time()
        second = asyncio.ensure_future(local.embed(TEXTS[1]))  # accepted: the share is not spent yet
        await first
        with pytest.raises(EmbedderBusy):
            await second  # the first batch spent the share: refused now, not encoded a second later
        waited = asyncio.get_running_loop().time() - started
        await local.aclose()
        return waited, local.stats()

    waited, stats = asyncio.run(run())
    assert waited < 0.5 and stats["refused"] == 1 and stats["texts"] == 1


def test_a_lookup_waits_for_a_short_batch_of_filings_never_for_the_whole_filing_queue(models: LocalModels) -> None:
    async def run() -> dict[str, float]:
        local = LocalEmbedder(models, CpuBudget(share=1.0, burst=10.0))
        filings = [asyncio.ensure_future(local.embed(text, wait=True)) for text in TEXTS]
        full = False
        for _ in range(100_000):  # until all are queued, then the worker has taken its first batch
            queued = local.stats()["queued"]
            full = full or queued == len(TEXTS)
            if full and queued < len(TEXTS):
                break
            await asyncio.sleep(0)
        await local.embed("Is this question already in the cache?")
        seen = local.stats()  # as the lookup got its vector
        await asyncio.gather(*filings)
        await local.aclose()
        return seen

    seen = asyncio.run(run())
    assert seen["texts"] == embedders.FILING_BATCH + 1  # the batch running when it came, then the lookup alone


def test_the_filing_queue_is_bounded_and_what_it_drops_is_counted(
    models: LocalModels, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(embedders, "MAX_QUEUED", 2)

    async def run() -> dict[str, float]:
        budget = CpuBudget(share=1.0, burst=0.01)
        local = LocalEmbedder(models, budget)
        budget.charge(60.0)  # the worker waits: nothing leaves the queue
        waiting = [asyncio.ensure_future(local.embed(text, wait=True)) for text in TEXTS[:2]]
        await asyncio.sleep(0)
        with pytest.raises(EmbedderBusy):
            await local.embed(TEXTS[2], wait=True)
        stats = local.stats()
        await local.aclose()
        for future in waiting:
            future.cancel()
        return stats

    stats = asyncio.run(run())
    assert stats["dropped"] == 1 and stats["queued"] == 2 and stats["texts"] == 0


class Counting:
    """An embedder that counts its calls; ``delay`` seconds each, or ``busy``: refuses lookups."""

    name = "counting"

    def __init__(self, delay: float = 0.0, busy: bool = False) -> None:
        self.calls: list[bool] = []  # the ``wait`` of each call
        self._delay, self._busy = delay, busy

    async def embed(self, text: str, *, wait: bool = False) -> np.ndarray:
        if self._busy and not wait:
            raise EmbedderBusy("busy")
        self.calls.append(wait)
        await asyncio.sleep(self._delay)
        return np.ones(4, dtype=np.float32) / 2

    def stats(self) -> dict[str, float]:
        return {}

    async def aclose(self) -> None:
        return None


@pytest.mark.parametrize(("embedder", "skipped", "calls"), [
    (Counting(delay=0.2), {"lookup_late": 1}, [False]),  # the filing waits for the lookup's late embedding
    (Counting(busy=True), {"lookup_refused": 1}, [True]),  # refused: nothing computed, the filing embeds once
    (Counting(), {}, [False]),
])
def test_a_request_costs_one_embedding_between_its_lookup_and_its_filing(
    embedder: Counting, skipped: dict[str, int], calls: list[bool]
) -> None:
    async def run() -> tuple[Any, Any, dict[str, int]]:
        cache = SemanticCache(embedder, per_namespace=10)
        embedding = cache.embedding(TEXTS[0])
        looked = await cache.lookup_vector(embedding, 0.05)
        filed = await cache.filing_vector(embedding, TEXTS[0], 5.0)
        return looked, filed, dict(cache.skipped)

    looked, filed, counted = asyncio.run(run())
    assert (looked is None) == bool(skipped) and filed is not None
    assert embedder.calls == calls and counted == skipped


def test_the_local_embedders_cpu_share_comes_from_the_config_and_must_be_a_fraction_of_a_core(
    models: LocalModels,
) -> None:
    parts: Any = SimpleNamespace(models=models, redis=None, config=SimpleNamespace(
        gateway=SimpleNamespace(redis_key_prefix="t:")))
    cache = semantic_cache(parts, CacheSettings(mode="semantic", embedder_cpu_share=0.6))
    assert isinstance(cache.embedder, LocalEmbedder) and cache.embedder.budget.share == 0.6
    for wrong in (0, 1.5):
        with pytest.raises(ValidationError, match="embedder_cpu_share"):
            CacheSettings(mode="semantic", embedder_cpu_share=wrong)
