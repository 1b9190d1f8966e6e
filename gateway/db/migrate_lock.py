"""Run the migrations once at a time, across processes: ``gateway serve --workers N`` and replicas starting together.

Without it, two processes on a new database both see "no tables" and both create them; one dies with
``table eval_runs already exists``. PostgreSQL takes a session advisory lock; a SQLite file takes an exclusive
``flock`` on a file beside it (``<db>.migrate-lock``). Whoever comes second waits, then finds the schema current
and does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from gateway.db.engine import Database

#: An arbitrary 64-bit key, the same in every gateway process, so they all wait on one lock.
ADVISORY_LOCK_KEY = 0x6761746577_6D6967  # "gatew" "mig"


def upgrade_under_lock(database: Database) -> None:
    """``database.upgrade()``, with no other gateway process migrating the same database at the same time."""
    with migration_lock(database):
        database.upgrade()


@contextmanager
def migration_lock(database: Database) -> Iterator[None]:
    if database.dialect == "postgresql":
        with _advisory_lock(database):
            yield
        return
    path = _sqlite_file(database)
    if path is None:  # in-memory: one process only
        yield
        return
    with _file_lock(Path(f"{path}.migrate-lock")):
        yield


@contextmanager
def _advisory_lock(database: Database) -> Iterator[None]:
    with database.engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _sqlite_file(database: Database) -> str | None:
    name = make_url(database.url).database
    if not name or name == ":memory:" or name.startswith("file::memory:"):
        return None
    return name
