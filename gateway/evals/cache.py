"""The runner's local cache of model answers, so a repeat run of an unchanged suite costs nothing.

The gateway has no response cache yet, so the runner keeps its own: a SQLite file (``.eval-cache/runs.sqlite3``
by default) mapping a key to a successful reply. The key hashes everything that decides the answer: the gateway
(its URL, or the hash of its config file), the prompt version (number and content hash when the registry is
readable), the model, the case's vars and request fields, and the repeat number. Errors are never cached.
``--no-cache`` skips it.

Lookups are synchronous (a primary-key read takes microseconds); writes are kept in memory and written in one
transaction at the end of the run.
"""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import orjson

DEFAULT_CACHE_DIR = Path(".eval-cache")


def cache_key(*parts: Any) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()


class RunCache:
    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "runs.sqlite3"
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS entries (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
        self._pending: dict[str, bytes] = {}
        self.hits = 0

    def get(self, key: str) -> Any | None:
        raw = self._pending.get(key)
        if raw is None:
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
            raw = row[0] if row else None
        if raw is None:
            return None
        self.hits += 1
        return orjson.loads(raw)

    def put(self, key: str, value: Any) -> None:
        self._pending[key] = orjson.dumps(value)

    def close(self) -> None:
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO entries (key, value) VALUES (?, ?)", self._pending.items())
        self._pending.clear()
        self._db.close()


class NoCache(RunCache):
    """Same interface, remembers nothing (``--no-cache``)."""

    def __init__(self) -> None:
        self._pending = {}
        self.hits = 0

    def get(self, key: str) -> Any | None:
        return None

    def put(self, key: str, value: Any) -> None:
        return None

    def close(self) -> None:
        return None
