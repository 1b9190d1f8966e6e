"""Change notices between the gateway processes that share one SQLite file, when there is no Redis.

The embedded default (a SQLite file, no Redis) may still run several processes: ``gateway serve --workers N``,
and the CLI changing keys or prompts beside a running gateway. They share a file beside the database,
``<database file>.bus``, to which every notice is appended as one JSON line ``[topic, message]`` (an ``O_APPEND``
write of a few dozen bytes, which the kernel does not interleave with another's). Every gateway process checks the
file's size ten times a second (one ``stat``, no query), reads the lines it has not seen and acts on them.

The file is started afresh (replaced, with the new notice as its only line) once it passes ``ROTATE_BYTES``,
about ten thousand notices. A notice another process appends to the old file at that very moment can be missed;
the caches' periodic refresh covers it, as it covers every notice lost on the way.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.engine import make_url

SUFFIX = ".bus"
POLL_SECONDS = 0.1
ROTATE_BYTES = 1 << 20
logger = logging.getLogger("gateway.bus")
Deliver = Callable[[str, str], Awaitable[None]]


def signal_path(database_url: str | None) -> Path | None:
    """The notice file of a SQLite database file; None for other databases and in-memory SQLite."""
    if database_url is None:
        return None
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(f"{url.database}{SUFFIX}")


def append(path: Path, topic: str, message: str) -> None:
    """Add one notice to the file (creating it, or starting it afresh when it is big); raises OSError."""
    line = (json.dumps([topic, message]) + "\n").encode()
    if _size(path) > ROTATE_BYTES:
        fresh = path.with_name(f"{path.name}.{os.getpid()}.new")
        fresh.write_bytes(line)
        os.replace(fresh, path)
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


class SignalTransport:
    """The bus's way to the other processes on the same SQLite file (see the module's docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inode, self._offset = _position(path)  # notices already in the file are history: start at its end
        self._lock = asyncio.Lock()

    async def send(self, topic: str, message: str) -> None:
        try:
            append(self.path, topic, message)
        except OSError as exc:
            logger.warning(
                "could not write the change notice to %s (%s); other processes notice on their next refresh",
                self.path,
                exc.strerror or exc,
            )

    async def catch_up(self, deliver: Deliver) -> None:
        """Act on the notices other processes have written since the last look: one ``stat`` when there are none.

        Returns once every notice read so far has been acted on: while another caller is still acting on some (the
        lock is held), this one waits for it, even if the file holds nothing newer."""
        if not self._lock.locked() and _position(self.path) == (self._inode, self._offset):
            return
        async with self._lock:  # a second caller waits until the first has acted, then finds nothing new
            for topic, message in self._read_new():
                await deliver(topic, message)

    async def run(self, deliver: Deliver, ready: asyncio.Event) -> None:
        ready.set()
        while True:
            await asyncio.sleep(POLL_SECONDS)
            await self.catch_up(deliver)

    def _read_new(self) -> list[tuple[str, str]]:
        try:
            with open(self.path, "rb") as handle:
                inode, size = _stat_position(os.fstat(handle.fileno()))
                if inode != self._inode or size < self._offset:  # started afresh: read the new file whole
                    self._inode, self._offset = inode, 0
                handle.seek(self._offset)
                data = handle.read(size - self._offset)
        except OSError as exc:
            logger.warning("could not read the change notices in %s (%s)", self.path, exc.strerror or exc)
            return []
        complete = data[: data.rfind(b"\n") + 1]  # a line still being written is read next time
        self._offset += len(complete)
        return [notice for line in complete.splitlines() if (notice := _notice(line)) is not None]


def _notice(line: bytes) -> tuple[str, str] | None:
    try:
        topic, message = json.loads(line)
    except (ValueError, TypeError):  # not JSON, or not a pair
        logger.warning("ignored a malformed change notice")
        return None
    return (topic, message) if isinstance(topic, str) and isinstance(message, str) else None


def _position(path: Path) -> tuple[int, int]:
    try:
        return _stat_position(os.stat(path))
    except OSError:
        return 0, 0


def _stat_position(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_ino, stat.st_size


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
