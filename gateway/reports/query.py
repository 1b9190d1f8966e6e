"""The one report query, shared by ``gateway costs report``, ``GET /admin/costs`` and ``GET /v1/usage``.

Contract: ``run_report(database, query)`` (synchronous: call it through ``asyncio.to_thread`` from async code)
returns one ``ReportRow`` per group plus the total, sorted by cost, then requests, then the group's labels.

Where the numbers come from:

* Day-aligned ranges not grouped by tag read ``daily_rollups``: sums, and p50/p95 from the roll-ups' latency
  histograms. This stays fast at any number of logged requests.
* Other ranges, and tag groupings, read ``request_logs`` within the range (index on ``created_at``). On PostgreSQL
  the percentiles are exact (``percentile_cont``); on SQLite they come from the same histogram, built on the fly.
* A request with several tags counts once in each of its tags' rows; untagged requests form the ``null`` tag row.
  The total counts every request once.
* ``cost_usd`` sums the priced requests; ``unpriced`` counts the others (their cost is unknown, not 0).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from sqlalchemy import (
    Case,
    ColumnElement,
    Connection,
    Date,
    Select,
    Table,
    case,
    cast,
    func,
    literal_column,
    select,
    true,
)

from gateway.db import Database
from gateway.db.logs import LATENCY_BOUNDS_MS, LATENCY_COLUMNS, daily_rollups_table, request_logs_table
from gateway.errors import RequestError
from gateway.reports.percentiles import histogram_percentile
from gateway.reports.timerange import TimeRange

Dimension = Literal["model", "key", "team", "provider", "prompt", "tag", "day"]
DIMENSIONS: tuple[Dimension, ...] = ("model", "key", "team", "provider", "prompt", "tag", "day")
SUMS = (
    "requests",
    "errors",
    "cached",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "unpriced",
    "cache_savings_usd",
    "latency_ms_sum",
    "estimated",
)
_PERCENTILES = "ARRAY[0.5, 0.95]::float8[]"


@dataclass(frozen=True, slots=True)
class ReportQuery:
    range: TimeRange
    group_by: tuple[Dimension, ...] = ("model",)
    #: Filters. ``key_id=""`` means requests made without a key (an open gateway).
    key_id: str | None = None
    team_id: str | None = None
    model: str | None = None


@dataclass(slots=True)
class ReportRow:
    group: dict[str, str | None]
    requests: int = 0
    errors: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0
    cache_savings_usd: float = 0.0
    estimated: int = 0
    latency_ms_sum: float = 0.0
    p50_ms: float | None = None
    p95_ms: float | None = None
    histogram: list[int] = field(default_factory=lambda: [0] * len(LATENCY_COLUMNS), repr=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def avg_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.requests if self.requests else None


@dataclass(slots=True)
class Report:
    query: ReportQuery
    source: Literal["rollups", "log"]
    rows: list[ReportRow]
    total: ReportRow
    elapsed_ms: float = 0.0


def parse_group_by(values: Sequence[str]) -> tuple[Dimension, ...]:
    """``["model,day", "key"]`` -> ``("model", "day", "key")``; unknown names are a 400."""
    found: list[Dimension] = []
    for value in values:
        for name in (part.strip().lower() for part in value.split(",")):
            if not name:
                continue
            if name not in DIMENSIONS:
                raise RequestError(f"Cannot group by {name!r}; use any of {', '.join(DIMENSIONS)}.", param="group_by")
            if name not in found:
                found.append(name)  # type: ignore[arg-type]
    return tuple(found)


def run_report(database: Database, query: ReportQuery) -> Report:
    started = time.perf_counter()
    source: Literal["rollups", "log"] = (
        "rollups" if query.range.day_aligned and "tag" not in query.group_by else "log"
    )
    exact = source == "log" and database.dialect == "postgresql"
    with database.engine.connect() as connection:
        rows = _rows(connection, database.dialect, source, query, query.group_by, exact)
        totals = _rows(connection, database.dialect, source, query, (), exact)
    total = totals[0] if totals else ReportRow(group={})
    rows.sort(key=_order)
    elapsed = (time.perf_counter() - started) * 1000
    return Report(query=query, source=source, rows=rows, total=total, elapsed_ms=elapsed)


def _order(row: ReportRow) -> tuple[Any, ...]:
    return (-row.cost_usd, -row.requests, tuple((v is None, v or "") for v in row.group.values()))


def _rows(
    connection: Connection,
    dialect: str,
    source: str,
    query: ReportQuery,
    group_by: tuple[Dimension, ...],
    exact: bool,
) -> list[ReportRow]:
    if source == "rollups":
        statement, width = _rollup_select(query, group_by)
        bucketed = False
    else:
        statement, width, bucketed = _log_select(dialect, query, group_by, exact)
    merged: dict[tuple[Any, ...], ReportRow] = {}
    for record in connection.execute(statement):
        values = tuple(record[:width])
        row = merged.get(values)
        if row is None:
            row = merged[values] = ReportRow(group=_labels(group_by, values))
        _accumulate(row, record[width:], source=source, bucketed=bucketed, exact=exact)
    for row in merged.values():
        if not exact:
            row.p50_ms = histogram_percentile(row.histogram, 0.5)
            row.p95_ms = histogram_percentile(row.histogram, 0.95)
    return [row for row in merged.values() if row.requests]


def _accumulate(row: ReportRow, metrics: Sequence[Any], *, source: str, bucketed: bool, exact: bool) -> None:
    sums = dict(zip(SUMS, metrics[: len(SUMS)], strict=True))
    row.requests += int(sums["requests"] or 0)
    row.errors += int(sums["errors"] or 0)
    row.cached += int(sums["cached"] or 0)
    row.prompt_tokens += int(sums["prompt_tokens"] or 0)
    row.completion_tokens += int(sums["completion_tokens"] or 0)
    row.cost_usd += float(sums["cost_usd"] or 0.0)
    row.unpriced += int(sums["unpriced"] or 0)
    row.cache_savings_usd += float(sums["cache_savings_usd"] or 0.0)
    row.latency_ms_sum += float(sums["latency_ms_sum"] or 0.0)
    row.estimated += int(sums["estimated"] or 0)
    rest = metrics[len(SUMS) :]
    if source == "rollups":
        for index, count in enumerate(rest):
            row.histogram[index] += int(count or 0)
    elif bucketed:
        row.histogram[int(rest[0])] += int(sums["requests"] or 0)
    elif exact and rest and rest[0]:
        row.p50_ms, row.p95_ms = (float(v) for v in rest[0])


def _labels(group_by: tuple[Dimension, ...], values: tuple[Any, ...]) -> dict[str, str | None]:
    labels: dict[str, str | None] = {}
    position = 0
    for dimension in group_by:
        if dimension == "prompt":
            name, version = values[position], values[position + 1]
            labels["prompt"] = f"{name}@{version}" if name else None
            position += 2
            continue
        value = values[position]
        position += 1
        if isinstance(value, date):
            value = value.isoformat()
        labels[dimension] = str(value) if value not in (None, "") else None
    return labels


def _rollup_select(query: ReportQuery, group_by: tuple[Dimension, ...]) -> tuple[Select[Any], int]:
    table = daily_rollups_table()
    columns = {
        "model": [table.c.model],
        "key": [table.c.key_id],
        "team": [table.c.team_id],
        "provider": [table.c.provider],
        "prompt": [table.c.prompt_name, table.c.prompt_version],
        "day": [table.c.day],
    }
    dimensions = [column for name in group_by for column in columns[name]]
    sums = [func.sum(table.c[name]) for name in (*SUMS, *LATENCY_COLUMNS)]
    statement = select(*dimensions, *sums).where(
        table.c.day >= query.range.first_day, table.c.day < query.range.end_day
    )
    if query.key_id is not None:
        statement = statement.where(table.c.key_id == query.key_id)
    if query.team_id is not None:
        statement = statement.where(table.c.team_id == query.team_id)
    if query.model is not None:
        statement = statement.where(table.c.model == query.model)
    if dimensions:
        statement = statement.group_by(*dimensions)
    return statement, len(dimensions)


def _log_select(
    dialect: str, query: ReportQuery, group_by: tuple[Dimension, ...], exact: bool
) -> tuple[Select[Any], int, bool]:
    table = request_logs_table()
    tag = None
    if "tag" in group_by:
        function = func.json_array_elements_text if dialect == "postgresql" else func.json_each
        tag = function(table.c.tags).table_valued("value").alias("tag")
    dimensions = [column for name in group_by for column in _log_dimension(table, name, dialect, tag)]
    metrics = _log_sums(table)
    bucketed = not exact
    extra: list[ColumnElement[Any]] = []
    if exact:
        extra = [func.percentile_cont(literal_column(_PERCENTILES)).within_group(table.c.latency_ms)]
    else:
        extra = [_bucket_case(table)]
    source = table.outerjoin(tag, true()) if tag is not None else table
    statement = select(*dimensions, *metrics, *extra).select_from(source)
    statement = statement.where(table.c.created_at >= query.range.start, table.c.created_at < query.range.end)
    statement = _log_filters(statement, table, query)
    grouping = [*dimensions, *extra] if bucketed else dimensions
    if grouping:
        statement = statement.group_by(*grouping)
    return statement, len(dimensions), bucketed


def _log_dimension(table: Table, name: Dimension, dialect: str, tag: Any) -> list[ColumnElement[Any]]:
    empty: ColumnElement[Any] = literal_column("''")
    zero: ColumnElement[Any] = literal_column("0")
    if name == "model":
        return [table.c.model]
    if name == "key":
        return [func.coalesce(table.c.key_id, empty)]
    if name == "team":
        return [func.coalesce(table.c.team_id, empty)]
    if name == "provider":
        return [func.coalesce(table.c.provider, empty)]
    if name == "prompt":
        return [func.coalesce(table.c.prompt_name, empty), func.coalesce(table.c.prompt_version, zero)]
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
        count_if(table.c.cache_status == "hit"),
        func.sum(func.coalesce(table.c.prompt_tokens, 0)),
        func.sum(func.coalesce(table.c.completion_tokens, 0)),
        func.sum(func.coalesce(table.c.cost_usd, 0.0)),
        count_if(table.c.cost_usd.is_(None)),
        func.sum(func.coalesce(table.c.cache_savings_usd, 0.0)),
        func.sum(table.c.latency_ms),
        count_if(table.c.tokens_estimated.is_(True)),
    ]


def _bucket_case(table: Table) -> Case[Any]:
    # Literals, not parameters: the same expression appears in GROUP BY and must compare equal there.
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
        (table.c.latency_ms < literal_column(repr(bound)), literal_column(str(index)))
        for index, bound in enumerate(LATENCY_BOUNDS_MS)
    ]
    return case(*whens, else_=literal_column(str(len(LATENCY_BOUNDS_MS))))


def _log_filters(statement: Select[Any], table: Table, query: ReportQuery) -> Select[Any]:
    for column, value in ((table.c.key_id, query.key_id), (table.c.team_id, query.team_id)):
        if value == "":
            statement = statement.where(column.is_(None))
        elif value is not None:
            statement = statement.where(column == value)
    if query.model is not None:
        statement = statement.where(table.c.model == query.model)
    return statement
