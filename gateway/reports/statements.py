"""The SQL behind a report: one ``SELECT`` per source (roll-ups, tag roll-ups, raw log) and grouping.

Every statement returns the group's columns first, then the sums in ``SUMS`` order, then either the 45 latency
histogram counts (roll-ups), one histogram bucket index (raw log, grouped by it too), or the exact p50/p95 as a
two-element array (raw log on PostgreSQL, ``exact``). ``Statement.width`` is the number of group columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, Select, Table, case, cast, func, literal_column, select, true

from gateway.db.logs import (
    LATENCY_BOUNDS_MS,
    LATENCY_COLUMNS,
    ROLLUP_SUM_COLUMNS,
    daily_rollups_table,
    daily_tag_dim_rollups_table,
    daily_tag_rollups_table,
    request_logs_table,
)

Dimension = Literal["model", "answered", "key", "team", "provider", "prompt", "tag", "day"]
Tail = Literal["histogram", "bucket", "exact"]
SUMS = ROLLUP_SUM_COLUMNS
_PERCENTILES = "ARRAY[0.5, 0.95]::float8[]"


@dataclass(frozen=True, slots=True)
class Filters:
    key_id: str | None = None
    team_id: str | None = None
    model: str | None = None

    @property
    def any(self) -> bool:
        return self.key_id is not None or self.team_id is not None or self.model is not None


@dataclass(frozen=True, slots=True)
class Statement:
    select: Select[Any]
    width: int
    tail: Tail


def rollup_statement(
    group_by: tuple[Dimension, ...], first_day: Any, end_day: Any, filters: Filters, *, tags: bool = False
) -> Statement:
    """From ``daily_rollups``, or with ``tags`` from ``daily_tag_dim_rollups`` (the same dimensions and a tag)."""
    table = daily_tag_dim_rollups_table() if tags else daily_rollups_table()
    columns = {
        "model": [table.c.model],
        "answered": [table.c.upstream_model],
        "key": [table.c.key_id],
        "team": [table.c.team_id],
        "provider": [table.c.provider],
        "prompt": [table.c.prompt_name, table.c.prompt_version],
        "day": [table.c.day],
        "tag": [table.c.tag] if tags else [],
    }
    dimensions = [column for name in group_by for column in columns[name]]
    statement = _summed(table, dimensions).where(table.c.day >= first_day, table.c.day < end_day)
    for column, value in (
        (table.c.key_id, filters.key_id),
        (table.c.team_id, filters.team_id),
        (table.c.model, filters.model),
    ):
        if value is not None:
            statement = statement.where(column == value)
    return Statement(statement.group_by(*dimensions) if dimensions else statement, len(dimensions), "histogram")


def tag_rollup_statement(group_by: tuple[Dimension, ...], first_day: Any, end_day: Any) -> Statement:
    """Groupings of tag and day without filters: the small ``daily_tag_rollups``."""
    table = daily_tag_rollups_table()
    dimensions = [table.c.tag if name == "tag" else table.c.day for name in group_by]
    statement = _summed(table, dimensions).where(table.c.day >= first_day, table.c.day < end_day)
    return Statement(statement.group_by(*dimensions) if dimensions else statement, len(dimensions), "histogram")


def log_statement(
    dialect: str, group_by: tuple[Dimension, ...], start: datetime, end: datetime, filters: Filters, exact: bool
) -> Statement:
    table = request_logs_table()
    tag = None
    if "tag" in group_by:
        function = func.json_array_elements_text if dialect == "postgresql" else func.json_each
        tag = function(table.c.tags).table_valued("value").alias("tag")
    dimensions = [column for name in group_by for column in _log_dimension(table, name, dialect, tag)]
    extra: ColumnElement[Any]
    if exact:
        extra = func.percentile_cont(literal_column(_PERCENTILES)).within_group(table.c.latency_ms)
    else:
        extra = _bucket(table, dialect)
    source = table.outerjoin(tag, true()) if tag is not None else table
    statement = select(*dimensions, *_log_sums(table), extra).select_from(source)
    statement = statement.where(table.c.created_at >= start, table.c.created_at < end)
    for column, value in ((table.c.key_id, filters.key_id), (table.c.team_id, filters.team_id)):
        if value == "":
            statement = statement.where(column.is_(None))
        elif value is not None:
            statement = statement.where(column == value)
    if filters.model is not None:
        statement = statement.where(table.c.model == filters.model)
    grouping = dimensions if exact else [*dimensions, extra]
    if grouping:
        statement = statement.group_by(*grouping)
    return Statement(statement, len(dimensions), "exact" if exact else "bucket")


def _summed(table: Table, dimensions: Sequence[ColumnElement[Any]]) -> Select[Any]:
    return select(*dimensions, *(func.sum(table.c[name]) for name in (*SUMS, *LATENCY_COLUMNS)))


def _log_dimension(table: Table, name: Dimension, dialect: str, tag: Any) -> list[ColumnElement[Any]]:
    # Literals, not parameters: the same expressions appear in GROUP BY, where PostgreSQL must see them as equal.
    empty: ColumnElement[Any] = literal_column("''")
    if name == "model":
        return [table.c.model]
    if name == "answered":
        return [func.coalesce(table.c.upstream_model, empty)]
    if name == "key":
        return [func.coalesce(table.c.key_id, empty)]
    if name == "team":
        return [func.coalesce(table.c.team_id, empty)]
    if name == "provider":
        return [func.coalesce(table.c.provider, empty)]
    if name == "prompt":
        return [func.coalesce(table.c.prompt_name, empty), func.coalesce(table.c.prompt_version, literal_column("0"))]
    if name == "tag":
        return [func.coalesce(tag.c.value, empty)]
    if dialect == "postgresql":
        return [cast(table.c.created_at, Date)]
    return [func.date(table.c.created_at)]


def _log_sums(table: Table) -> list[ColumnElement[Any]]:
    def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
        return func.sum(case((condition, 1), else_=0))

    return [
        func.count(),
        count_if(table.c.status >= 400),
        count_if(table.c.cache_status.in_(("hit", "semantic-hit"))),
        func.sum(func.coalesce(table.c.prompt_tokens, 0)),
        func.sum(func.coalesce(table.c.completion_tokens, 0)),
        func.sum(func.coalesce(table.c.cost_usd, 0.0)),
        count_if(table.c.cost_usd.is_(None)),
        func.sum(func.coalesce(table.c.cache_savings_usd, 0.0)),
        func.sum(table.c.latency_ms),
        count_if(table.c.tokens_estimated.is_(True)),
    ]


def _bucket(table: Table, dialect: str) -> ColumnElement[Any]:
    """The latency's histogram bucket, as ``gateway.db.logs.latency_bucket`` computes it."""
    if dialect == "postgresql":
        bounds = ", ".join(repr(bound) for bound in LATENCY_BOUNDS_MS)
        return func.width_bucket(table.c.latency_ms, literal_column(f"ARRAY[{bounds}]::float8[]"))
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
        (table.c.latency_ms < literal_column(repr(bound)), literal_column(str(index)))
        for index, bound in enumerate(LATENCY_BOUNDS_MS)
    ]
    return case(*whens, else_=literal_column(str(len(LATENCY_BOUNDS_MS))))
