"""Write a batch of records to the database in one transaction: the log rows, then the roll-ups they add to
(``daily_rollups`` and ``daily_tag_rollups``).

Contract: ``LogStore.write(records)`` is synchronous (call it through ``asyncio.to_thread``) and returns how many
rows were new. A ``request_id`` already in the log is skipped (``ON CONFLICT DO NOTHING``) and adds nothing to
the roll-ups, so writing the same records twice (a spill file replayed after a crash) changes nothing. Either
the whole batch commits or none of it does. Roll-up rows are upserted in key order, so concurrent writers
(several replicas) take their row locks in the same order and cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, Table, TextClause, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.sqlite import Insert
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from gateway.db import Database
from gateway.db.logs import (
    daily_rollups_table,
    daily_tag_dim_rollups_table,
    daily_tag_rollups_table,
    request_logs_table,
)
from gateway.errors import ConfigError
from gateway.ledger.pg_bulk import bulk_insert, bulk_params, bulk_upsert
from gateway.ledger.rows import (
    ROLLUP_DIMENSIONS,
    ROLLUP_SUMS,
    TAG_DIM_ROLLUP_DIMENSIONS,
    TAG_ROLLUP_DIMENSIONS,
    log_row,
    rollup_rows,
    string_limits,
    tag_dim_rollup_rows,
    tag_rollup_rows,
)
from gateway.pipeline.records import RequestRecord

_EXISTING_IDS = text("SELECT request_id FROM request_logs WHERE request_id IN (SELECT value FROM json_each(:ids))")


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` means "the database cannot be reached now", as opposed to a bad row."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError | OSError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class LogStore:
    def __init__(self, database: Database) -> None:
        if database.dialect not in ("postgresql", "sqlite"):
            raise ConfigError(f"the request log supports PostgreSQL and SQLite, not {database.dialect}")
        self._database = database
        # PostgreSQL gets one array per column (see pg_bulk); SQLite's multi-row VALUES is fast already.
        self._bulk = database.dialect == "postgresql"
        self._logs: Table = request_logs_table()
        self._rollups: Table = daily_rollups_table()
        self._tag_rollups: Table = daily_tag_rollups_table()
        self._tag_dim_rollups: Table = daily_tag_dim_rollups_table()
        self._log_limits = string_limits(self._logs)
        self._limits = string_limits(self._rollups)
        # Statements are built once: SQLAlchemy took ~4 ms to build each upsert (its ``excluded`` collection and
        # the increments), three of them per batch, on a thread that holds the GIL the event loop needs.
        self._sqlite_insert = sqlite.insert(self._logs).on_conflict_do_nothing(index_elements=["request_id"])
        self._sqlite_upserts = {
            table.name: _sqlite_upsert(table, keys)
            for table, keys in ((self._rollups, ROLLUP_DIMENSIONS), (self._tag_rollups, TAG_ROLLUP_DIMENSIONS),
                                (self._tag_dim_rollups, TAG_DIM_ROLLUP_DIMENSIONS))
        }
        self._pg_statements: dict[tuple[str, ...], TextClause] = {}

    @property
    def url(self) -> str:
        return self._database.safe_url

    def ping(self) -> None:
        """Raise unless the database answers (an outage, by ``is_outage``)."""
        self._database.ping()

    def write(self, records: Sequence[RequestRecord]) -> int:
        unique = list({record.request_id: record for record in records}.values())
        if not unique:
            return 0
        rows = [log_row(record, self._log_limits) for record in unique]
        with self._database.engine.begin() as connection:
            inserted = self._insert_logs(connection, rows)
            fresh = [record for record in unique if record.request_id in inserted]
            if fresh:
                self._upsert(connection, self._rollups, ROLLUP_DIMENSIONS, rollup_rows(fresh, self._limits))
                self._upsert(connection, self._tag_rollups, TAG_ROLLUP_DIMENSIONS, tag_rollup_rows(fresh))
                tagged = tag_dim_rollup_rows(fresh, self._limits)
                self._upsert(connection, self._tag_dim_rollups, TAG_DIM_ROLLUP_DIMENSIONS, tagged)
        return len(fresh)

    def _insert_logs(self, connection: Connection, rows: list[dict[str, Any]]) -> set[str]:
        if self._bulk:
            columns = tuple(rows[0])
            bulk = self._pg_statement(("logs", *columns), lambda: bulk_insert(
                self._logs, columns, conflict="request_id", returning="request_id"))
            return set(connection.execute(bulk, bulk_params(rows)).scalars())
        # SQLite: find the rows already logged (spill replays) with one statement of fixed text, then insert the
        # rest through executemany. A multi-row INSERT ... RETURNING would render new SQL for every batch size,
        # and SQLite keeps a compiled copy of each per connection: memory grew with traffic, and CPU with it.
        ids = [row["request_id"] for row in rows]
        existing = set(connection.execute(_EXISTING_IDS, {"ids": orjson.dumps(ids).decode()}).scalars())
        fresh = [row for row in rows if row["request_id"] not in existing]
        if fresh:
            connection.execute(self._sqlite_insert, fresh)
        return {row["request_id"] for row in fresh}

    def _upsert(self, connection: Connection, table: Table, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
        if self._bulk:
            columns = (*keys, *ROLLUP_SUMS)
            statement = self._pg_statement((table.name,), lambda: bulk_upsert(table, columns, keys, ROLLUP_SUMS))
            connection.execute(statement, bulk_params(rows))
            return
        connection.execute(self._sqlite_upserts[table.name], rows)

    def _pg_statement(self, key: tuple[str, ...], build: Callable[[], TextClause]) -> TextClause:
        statement = self._pg_statements.get(key)
        if statement is None:
            statement = self._pg_statements[key] = build()
        return statement


def _sqlite_upsert(table: Table, keys: Sequence[str]) -> Insert:
    insert = sqlite.insert(table)
    increments = {name: table.c[name] + insert.excluded[name] for name in ROLLUP_SUMS}
    return insert.on_conflict_do_update(index_elements=list(keys), set_=increments)
