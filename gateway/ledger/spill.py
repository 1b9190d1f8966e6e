"""The spill file: records that could not be written to the database yet, one JSON object per line.

Contract:

* ``append(records)`` adds lines and flushes them to the OS at once (a crash of the process loses nothing that
  was appended). It is safe from any thread, and quick enough (one buffered write) to call on the event loop.
* One process owns a spill file, through an exclusive ``flock`` held while it has the file open. A second
  process configured with the same path (``--workers N``) writes ``<name>.<pid><suffix>`` next to it instead.
* ``replay(write)`` hands every record of the file(s) to ``write`` in batches (``write`` commits them), then
  drops exactly the lines it read: lines appended meanwhile stay. Nothing is removed before ``write`` returned
  for all of them, so a failure or a crash leaves the lines to be replayed again; ``write`` must skip records it
  already has. Files of processes that are gone (unlocked siblings) are replayed and deleted too.
* A line that cannot be parsed (a half-written line after a crash) is skipped with a warning.
* ``reject(records)`` keeps records the database refused as bad rows in ``<name>.rejected<suffix>``; they are
  never replayed.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from gateway.pipeline.records import RequestRecord, bounded_metadata

try:
    import fcntl
except ImportError:  # Windows: one process per spill file is then the operator's business
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger("gateway.ledger")
WriteBatch = Callable[[Sequence[RequestRecord]], int]
_FIELDS = tuple(field.name for field in dataclasses.fields(RequestRecord))


def encode(records: Iterable[RequestRecord]) -> bytes:
    return b"".join(_encode_one(record) + b"\n" for record in records)


def _encode_one(record: RequestRecord) -> bytes:
    """One line; never fails: a record whose JSON fields orjson refuses is written with them bounded."""
    data = {name: getattr(record, name) for name in _FIELDS}  # not dataclasses.asdict: it recurses into metadata
    try:
        return orjson.dumps(data)
    except TypeError:  # orjson.JSONEncodeError: too deep, or a type JSON has no form for
        bounded = {"metadata": bounded_metadata(record.metadata), "tags": [str(tag) for tag in record.tags]}
        return orjson.dumps({**data, **bounded})


def decode(line: bytes) -> RequestRecord | None:
    try:
        data = orjson.loads(line)
        return RequestRecord(**{k: v for k, v in data.items() if k in _FIELDS})
    except (orjson.JSONDecodeError, TypeError, AttributeError):
        return None


class SpillFile:
    def __init__(self, path: Path) -> None:
        self.configured = path
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = None

    @property
    def path(self) -> Path | None:
        """The file this process appends to, once it has appended."""
        return Path(self._file.name) if self._file is not None else None

    def append(self, records: Sequence[RequestRecord]) -> None:
        data = encode(records)
        with self._lock:
            handle = self._open()
            handle.write(data)
            handle.flush()

    def pending(self) -> bool:
        """Whether any file (ours or an orphan) holds lines to replay."""
        with self._lock:
            if self._file is not None and self._file.tell() > 0:
                return True
        return any(path.stat().st_size > 0 for path in self._siblings())

    def replay(self, write: WriteBatch, batch_size: int) -> int:
        """Write every spilled record through ``write``; returns how many records were read."""
        total = 0
        for path in self._siblings():
            total += self._replay_orphan(path, write, batch_size)
        with self._lock:
            handle = self._open() if self._file is not None or self.configured.exists() else None
            if handle is None:
                return total
            end = handle.tell()
        total += _feed(_lines(Path(handle.name), end), write, batch_size)
        with self._lock:
            self._drop_head(handle, end)
        return total

    def reject(self, records: Sequence[RequestRecord]) -> Path:
        """Keep records the database refused (not an outage: a bad row) aside, for a human to look at."""
        path = self.configured.with_name(f"{self.configured.stem}.rejected{self.configured.suffix}")
        with self._lock, path.open("ab") as handle:
            handle.write(encode(records))
        return path

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()  # closing releases the flock
                self._file = None

    def _open(self) -> IO[bytes]:
        """Our file, opened for appending and locked; the configured path if no live process holds it."""
        if self._file is not None:
            return self._file
        self.configured.parent.mkdir(parents=True, exist_ok=True)
        for candidate in (self.configured, _per_process(self.configured)):
            handle = candidate.open("ab")
            if _try_lock(handle):
                self._file = handle
                return handle
            handle.close()
        raise OSError(f"could not lock a spill file next to {self.configured}")

    def _drop_head(self, handle: IO[bytes], end: int) -> None:
        """Remove the first ``end`` bytes (the replayed lines), keeping whatever was appended after them."""
        handle.flush()
        path = Path(handle.name)
        if handle.tell() == end:
            os.truncate(path, 0)
            handle.seek(0)
            return
        with path.open("rb") as source:
            source.seek(end)
            tail = source.read()
        os.truncate(path, 0)
        handle.seek(0)
        handle.write(tail)
        handle.flush()

    def _siblings(self) -> list[Path]:
        """Spill files of other processes (``<name>.*<suffix>``) and, if no one holds it, the configured one."""
        directory = self.configured.parent
        if not directory.is_dir():
            return []
        pattern = f"{self.configured.stem}.*{self.configured.suffix}"
        own = self.path
        found = [path for path in sorted(directory.glob(pattern)) if path != own and _is_spill_name(path)]
        if own is not None and own != self.configured and self.configured.exists():
            found.append(self.configured)
        return found

    def _replay_orphan(self, path: Path, write: WriteBatch, batch_size: int) -> int:
        try:
            handle = path.open("rb+")
        except FileNotFoundError:
            return 0
        with handle:
            if not _try_lock(handle):
                return 0  # a live process owns it and replays it itself
            count = _feed(_lines(path, path.stat().st_size), write, batch_size)
            path.unlink()
        return count


def _feed(lines: Iterator[bytes], write: WriteBatch, batch_size: int) -> int:
    batch: list[RequestRecord] = []
    count = skipped = 0
    for line in lines:
        record = decode(line)
        if record is None:
            skipped += 1
            continue
        batch.append(record)
        if len(batch) >= batch_size:
            write(batch)
            count += len(batch)
            batch = []
    if batch:
        write(batch)
        count += len(batch)
    if skipped:
        logger.warning("skipped %d unreadable line(s) in the request log's spill file", skipped)
    return count


def _lines(path: Path, end: int) -> Iterator[bytes]:
    with path.open("rb") as source:
        remaining = end
        for line in source:
            if remaining <= 0:
                return
            remaining -= len(line)
            if line.strip() and (remaining >= 0 and line.endswith(b"\n")):
                yield line


def _per_process(path: Path) -> Path:
    return path.with_name(f"{path.stem}.{os.getpid()}{path.suffix}")


def _is_spill_name(path: Path) -> bool:
    middle = path.name.split(".")[-2] if path.name.count(".") >= 2 else ""
    return middle.isdigit()


def _try_lock(handle: Any) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
