"""The database handle: the URLs people paste, a password never shown, SQLite tuned, a refused connection quick."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError
from support.databases import BOTH
from support.throwaway import spare_port

from gateway.db import Database, normalize_url


@pytest.mark.parametrize(
    ("pasted", "used"),
    [
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///./gateway.db", "sqlite:///./gateway.db"),
    ],
)
def test_the_urls_people_paste_use_the_psycopg_3_driver(pasted: str, used: str) -> None:
    assert normalize_url(pasted) == used


def test_the_safe_url_hides_the_password() -> None:
    database = Database("postgres://gw:s3cret-pass@127.0.0.1:5432/gateway")
    try:
        assert "s3cret-pass" not in database.safe_url and "gw:***@127.0.0.1" in database.safe_url
    finally:
        database.dispose()


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_a_migrated_database_answers_a_ping(database: Database) -> None:
    database.ping()


def test_sqlite_runs_in_wal_mode_waits_for_a_lock_and_keeps_foreign_keys(database: Database) -> None:
    """WAL lets the background log writer and the readers (reports, the CLI) work at once."""
    with database.engine.connect() as connection:
        pragmas = {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "foreign_keys", "busy_timeout")}
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 30_000}


def test_a_postgresql_that_is_not_there_is_refused_within_the_connect_timeout() -> None:
    database = Database(f"postgresql://postgres@127.0.0.1:{spare_port()}/none", connect_timeout=1)
    started = time.monotonic()
    try:
        with pytest.raises(OperationalError):
            database.ping()
    finally:
        database.dispose()
    assert time.monotonic() - started < 10  # generous: a refused port answers at once
