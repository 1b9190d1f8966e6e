"""Every local model of one process, loaded once, on first use, and shared by every part that uses it.

Today that is all-MiniLM-L6-v2 (``minilm.py``, numpy + ``tokenizers``, no torch): sentence embeddings for the
eval suites, the semantic cache and the guardrails' injection classifier. The composition root makes one
``LocalModels`` and hands it to the stages (``StageParts.models``), so the weights are in memory once however many
stages use them, and not at all when none does. numpy and the model load in a worker thread, on first use, never
at start-up or import.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gateway.localmodels.minilm import MiniLM


_blas_limited = threading.Event()


def one_blas_thread() -> None:
    """Limit BLAS to one thread for the whole process, once (the local models and the semantic index call it when
    they are first made). At the sizes of a sentence embedding or one namespace's search, OpenBLAS's thread pool
    only loses time (10-40x slower on two busy cores, measured), and a gateway worker is meant to use one core.
    Once, not around each call: ``threadpool_limits`` inspects every loaded library each time (0.3-1.7 ms here)."""
    if not _blas_limited.is_set():
        from threadpoolctl import threadpool_limits  # noqa: PLC0415 - only with a local model or a semantic index

        threadpool_limits(limits=1, user_api="blas")  # kept: never restored
        _blas_limited.set()


class LocalModels:
    """The process's local models, each loaded on first request (``await models.minilm()``)."""

    def __init__(self) -> None:
        self._minilm: MiniLM | None = None
        self._loading = asyncio.Lock()  # one load at a time: two first users must not load two copies

    async def minilm(self) -> MiniLM:
        """The shared MiniLM, loaded in a thread the first time. Raises ``ModelUnavailable`` (a RuntimeError)
        when its files are not installed, or ImportError when numpy or tokenizers are missing."""
        if self._minilm is None:
            async with self._loading:
                if self._minilm is None:
                    from gateway.localmodels.minilm import MiniLM  # noqa: PLC0415 - numpy + tokenizers, ~40 MB

                    self._minilm = await asyncio.to_thread(MiniLM)
        return self._minilm

    @property
    def loaded(self) -> list[str]:
        """The names of the models in memory now (for /health and the benchmarks' memory figures)."""
        return ["all-MiniLM-L6-v2"] if self._minilm is not None else []
