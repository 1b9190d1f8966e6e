"""New, empty databases for tests: a SQLite file, or a throwaway database on the machine's PostgreSQL.

Tests take the ``database_url`` fixture (an empty database) or the ``database`` fixture (the same, migrated, as a
``gateway.db.Database``), both in tests/conftest.py; SQLite unless a test asks for more::

    @pytest.mark.parametrize("database_url", BOTH, indirect=True)
    def test_on_sqlite_and_postgresql(database: Database) -> None: ...
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from gateway.db import Database
from support.throwaway import pg_database

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
#: Both kinds, for ``indirect`` parametrisation; the PostgreSQL one carries the ``postgres`` marker.
BOTH = [SQLITE, pytest.param(POSTGRESQL, marks=pytest.mark.postgres)]


@contextmanager
def new_database(kind: str, folder: Path, feature: str = "tests") -> Iterator[str]:
    """The URL of a new, empty database of ``kind``; a PostgreSQL one is dropped at the end."""
    if kind == SQLITE:
        yield f"sqlite:///{folder / f'{feature}.db'}"
    elif kind == POSTGRESQL:
        with pg_database(feature) as url:
            yield url
    else:
        raise ValueError(f"unknown database kind {kind!r} (expected {SQLITE!r} or {POSTGRESQL!r})")


@contextmanager
def opened(url: str, *, migrate: bool = True) -> Iterator[Database]:
    """``url`` as a ``Database``, migrated to the head unless told otherwise; its engine disposed of at the end."""
    database = Database(url)
    try:
        if migrate:
            database.upgrade()
        yield database
    finally:
        database.dispose()
