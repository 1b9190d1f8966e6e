"""The semantic index: per namespace, the embeddings of stored requests in one numpy matrix, searched exactly.

An exact search (one matrix-vector product) is fast enough per namespace up to ~100k entries (measured in
``bench/cache_speed.py``) and never misses a neighbour the way an approximate index can. Namespaces are kept
in LRU order and bounded in number; a namespace is bounded in entries (the oldest quarter goes when it is full).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from gateway.cache.checks import Features
from gateway.cache.exact import tag_matches
from gateway.localmodels import one_blas_thread

MAX_NAMESPACES = 10_000
_FIRST_ROWS = 16


@dataclass(slots=True)
class Entry:
    key: str  # the exact key its answer is stored under
    tag: str
    text: str
    features: Features
    created: float  # wall clock, seconds
    expires: float  # wall clock, seconds
    observations: list[tuple[float, bool]] = field(default_factory=list)  # adaptive: (similarity, answer agreed)


class Namespace:
    def __init__(self, dim: int, capacity: int) -> None:
        one_blas_thread()  # on a busy machine OpenBLAS's pool makes the search 10-40x slower, as in minilm.py
        self.vectors = np.zeros((_FIRST_ROWS, dim), dtype=np.float32)
        self.entries: list[Entry] = []
        self.capacity = capacity
        self.synced = 0  # how many shared entries (Redis) this copy has read
        self.synced_at = 0.0
        self.pool: list[tuple[float, bool]] = []  # adaptive: observations of every entry, the prior of new ones

    def add(self, entry: Entry, vector: np.ndarray) -> None:
        if len(self.entries) >= self.capacity:
            self._drop_oldest(max(1, self.capacity // 4))
        if len(self.entries) == len(self.vectors):
            grown = np.zeros((len(self.vectors) * 2, self.vectors.shape[1]), dtype=np.float32)
            grown[: len(self.entries)] = self.vectors[: len(self.entries)]
            self.vectors = grown
        self.vectors[len(self.entries)] = vector
        self.entries.append(entry)

    def search(self, query: np.ndarray, k: int = 4) -> list[tuple[float, Entry]]:
        """The ``k`` nearest live entries, most similar first. Safe to run in a worker thread while the event loop
        adds entries: it reads the matrix and the list it started with (``add`` only appends to both; a compaction
        replaces them with new objects), so a row and its entry always belong together."""
        vectors, entries = self.vectors, self.entries
        count = min(len(entries), len(vectors))
        if count == 0:
            return []
        scores = vectors[:count] @ query
        top = np.argpartition(-scores, k - 1)[:k] if count > k else np.arange(count)
        now = time.time()
        ranked = sorted(((float(scores[i]), entries[i]) for i in top), key=lambda pair: -pair[0])
        return [(score, entry) for score, entry in ranked if entry.expires > now]

    def remove(self, tag_pattern: str) -> int:
        keep = [i for i, e in enumerate(self.entries) if not tag_matches(tag_pattern, e.tag)]
        gone = len(self.entries) - len(keep)
        if gone:
            self._keep(keep)
        return gone

    def _drop_oldest(self, count: int) -> None:
        now = time.time()
        live = [i for i, e in enumerate(self.entries) if e.expires > now]
        self._keep(live[count:] if len(live) == len(self.entries) else live)

    def _keep(self, rows: list[int]) -> None:
        kept = self.vectors[rows] if rows else np.zeros((0, self.vectors.shape[1]), dtype=np.float32)
        self.vectors = np.zeros((max(_FIRST_ROWS, len(rows) * 2), self.vectors.shape[1]), dtype=np.float32)
        self.vectors[: len(rows)] = kept
        self.entries = [self.entries[i] for i in rows]


class VectorIndex:
    """Every namespace of this process, least recently used first."""

    def __init__(self, dim: int, per_namespace: int, max_namespaces: int = MAX_NAMESPACES) -> None:
        self.dim = dim
        self._per_namespace = per_namespace
        self._max_namespaces = max_namespaces
        self._spaces: OrderedDict[str, Namespace] = OrderedDict()

    def namespace(self, name: str) -> Namespace:
        space = self._spaces.get(name)
        if space is None:
            space = self._spaces[name] = Namespace(self.dim, self._per_namespace)
            while len(self._spaces) > self._max_namespaces:
                self._spaces.popitem(last=False)
        self._spaces.move_to_end(name)
        return space

    def clear(self, tag_pattern: str = "*.*") -> int:
        return sum(space.remove(tag_pattern) for space in self._spaces.values())

    @property
    def entries(self) -> int:
        return sum(len(space.entries) for space in self._spaces.values())
