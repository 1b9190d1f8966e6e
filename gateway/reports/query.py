"""The one report query, shared by ``gateway costs report``, ``GET /admin/costs`` and ``GET /v1/usage``.

Contract: ``run_report(database, query)`` (synchronous: call it through ``asyncio.to_thread`` from async code)
returns one ``ReportRow`` per group plus the total, sorted by cost, then requests, then the group's labels.

Where the numbers come from, so that a report stays fast at millions of logged requests:

* Whole UTC days come from the roll-ups (``daily_rollups``; for groupings by tag ``daily_tag_rollups`` when only
  tag and day, unfiltered, else ``daily_tag_dim_rollups``, which has the dimensions of ``daily_rollups`` and the
  tag): sums, and p50/p95 from the latency histograms they carry (within a few
  percent, see ``percentiles.py``). ``answered`` groups by the model that answered (a fallback's, say), ``model``
  by the one requested.
* The part of a range that does not fill a whole day (``--since 12h``, or the first day of ``--since 720h``) is
  read from ``request_logs`` (index on ``created_at``), and merged with the roll-ups' figures.
* A range shorter than a day is read from the log alone; on PostgreSQL its p50/p95 are then exact
  (``percentile_cont``).
* A request with several tags counts once under each tag; untagged requests form the ``null`` tag row. The total
  counts every request once. ``cost_usd`` sums the priced requests; ``unpriced`` counts the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection
from sqlmodel import Field

from gateway.db import Database
from gateway.db.logs import LATENCY_COLUMNS, RollupSums
from gateway.errors import RequestError
from gateway.reports.names import Names, resolve_filters
from gateway.reports.percentiles import histogram_percentiles
from gateway.reports.statements import (
    SUMS,
    Dimension,
    Filters,
    Statement,
    log_statement,
    rollup_statement,
    tag_rollup_statement,
)
from gateway.reports.timerange import TimeRange

DIMENSIONS: tuple[Dimension, ...] = ("model", "answered", "key", "team", "provider", "prompt", "tag", "day")
Source = Literal["rollups", "tag_rollups", "tag_dim_rollups", "log"]


@dataclass(frozen=True, slots=True)
class ReportQuery:
    range: TimeRange
    group_by: tuple[Dimension, ...] = ("model",)
    #: Filters. ``key_id=""`` means requests made without a key (an open gateway).
    key_id: str | None = None
    team_id: str | None = None
    model: str | None = None
    #: The key and team filters may be names, as a person types them (``GET /v1/usage`` passes the caller's id).
    by_name: bool = True

    @property
    def filters(self) -> Filters:
        return Filters(self.key_id, self.team_id, self.model)


class ReportRow(RollupSums):
    """One group's sums (the roll-ups' own ``RollupSums``), its latency histogram, and the percentiles read from it."""

    group: dict[str, str | None]
    p50_ms: float | None = None
    p95_ms: float | None = None
    histogram: list[int] = Field(default_factory=lambda: [0] * len(LATENCY_COLUMNS), repr=False)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def avg_latency_ms(self) -> float | None:
        return self.latency_ms_sum / self.requests if self.requests else None

    def add_sums(self, values: Sequence[Any]) -> None:
        """Add one result row's sums, in ``SUMS`` order (spelled out: this runs once per group and segment)."""
        self.requests += int(values[0] or 0)
        self.errors += int(values[1] or 0)
        self.cached += int(values[2] or 0)
        self.prompt_tokens += int(values[3] or 0)
        self.completion_tokens += int(values[4] or 0)
        self.cost_usd += float(values[5] or 0.0)
        self.unpriced += int(values[6] or 0)
        self.cache_savings_usd += float(values[7] or 0.0)
        self.latency_ms_sum += float(values[8] or 0.0)
        self.estimated += int(values[9] or 0)


@dataclass(frozen=True, slots=True)
class Segment:
    source: Source
    start: datetime
    end: datetime


@dataclass(slots=True)
class Report:
    query: ReportQuery
    source: str  # "rollups", "log" or "rollups+log"
    rows: list[ReportRow]
    total: ReportRow
    elapsed_ms: float = 0.0
    #: The names of the key and team the query is filtered to (its filters are ids once resolved).
    filter_names: dict[str, str] = field(default_factory=dict)


def parse_group_by(values: Sequence[str]) -> tuple[Dimension, ...]:
    """``["model,day", "key"]`` -> ``("model", "day", "key")``; unknown names, or none at all, are a 400."""
    found: list[Dimension] = []
    for value in values:
        for name in (part.strip().lower() for part in value.split(",")):
            if not name:
                continue
            if name not in DIMENSIONS:
                raise RequestError(f"Cannot group by {name!r}; use any of {', '.join(DIMENSIONS)}.", param="group_by")
            if name not in found:
                found.append(name)  # type: ignore[arg-type]
    if not found:
        raise RequestError(f"Name what to group by: any of {', '.join(DIMENSIONS)}.", param="group_by")
    return tuple(found)


def plan(query: ReportQuery, group_by: tuple[Dimension, ...]) -> list[Segment]:
    """Split the range into whole days (roll-ups) and the partial days at its ends (raw log)."""
    start, end = query.range.start, query.range.end
    source: Source = "rollups"
    if "tag" in group_by:
        small = set(group_by) <= {"tag", "day"} and not query.filters.any
        source = "tag_rollups" if small else "tag_dim_rollups"
    first_full = _midnight(start) if start == _midnight(start) else _midnight(start) + timedelta(days=1)
    last_full = _midnight(end)
    if first_full >= last_full:
        return [Segment("log", start, end)]
    segments = [Segment("log", start, first_full)] if start < first_full else []
    segments.append(Segment(source, first_full, last_full))
    if last_full < end:
        segments.append(Segment("log", last_full, end))
    return segments


def run_report(database: Database, query: ReportQuery) -> Report:
    """The report; a key or team filter that names nothing is a ``RequestError`` (see ``names``)."""
    started = time.perf_counter()
    segments = plan(query, query.group_by)
    with database.engine.connect() as connection:
        if database.dialect == "postgresql":  # the groups and the total from one snapshot, while writers write
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
        query = resolve_filters(connection, query) if query.by_name else query
        rows = _grouped(connection, database.dialect, query, query.group_by, segments)
        totals = _grouped(connection, database.dialect, query, (), plan(query, ()))
        names = Names.load(connection) if _wants_names(query) else Names({}, {})
    total = totals[0] if totals else ReportRow(group={})
    for row in rows:
        row.group = _named(row.group, names)
    rows.sort(key=_order)
    kinds = sorted({"log" if s.source == "log" else "rollups" for s in segments}, reverse=True)
    elapsed = (time.perf_counter() - started) * 1000
    filter_names = {
        name: found
        for name, value, table in (("key_name", query.key_id, names.keys), ("team_name", query.team_id, names.teams))
        if value and (found := table.get(value)) is not None
    }
    return Report(query, "+".join(kinds), rows, total, elapsed, filter_names)


def _wants_names(query: ReportQuery) -> bool:
    return bool({"key", "team"} & set(query.group_by)) or bool(query.key_id) or bool(query.team_id)


def _named(group: dict[str, str | None], names: Names) -> dict[str, str | None]:
    """The group's labels with each key's and team's name after its id (``key``, ``key_name``, ...)."""
    labelled: dict[str, str | None] = {}
    for dimension, value in group.items():
        labelled[dimension] = value
        if dimension == "key":
            labelled["key_name"] = names.keys.get(value) if value else None
        elif dimension == "team":
            labelled["team_name"] = names.teams.get(value) if value else None
    return labelled


def _grouped(
    connection: Connection,
    dialect: str,
    query: ReportQuery,
    group_by: tuple[Dimension, ...],
    segments: list[Segment],
) -> list[ReportRow]:
    exact = dialect == "postgresql" and [s.source for s in segments] == ["log"]
    merged: dict[tuple[Any, ...], ReportRow] = {}
    for segment in segments:
        statement = _statement(dialect, query, group_by, segment, exact)
        for record in connection.execute(statement.select):
            values = tuple(_value(v) for v in record[: statement.width])
            row = merged.get(values)
            if row is None:
                row = merged[values] = ReportRow(group=_labels(group_by, values))
            _accumulate(row, record[statement.width :], statement)
    for row in merged.values():
        if not exact:
            row.p50_ms, row.p95_ms = histogram_percentiles(row.histogram, (0.5, 0.95))
    return [row for row in merged.values() if row.requests]


def _statement(
    dialect: str, query: ReportQuery, group_by: tuple[Dimension, ...], segment: Segment, exact: bool
) -> Statement:
    if segment.source == "tag_rollups":
        return tag_rollup_statement(group_by, segment.start.date(), segment.end.date())
    if segment.source != "log":
        tags = segment.source == "tag_dim_rollups"
        return rollup_statement(group_by, segment.start.date(), segment.end.date(), query.filters, tags=tags)
    return log_statement(dialect, group_by, segment.start, segment.end, query.filters, exact)


def _accumulate(row: ReportRow, metrics: Sequence[Any], statement: Statement) -> None:
    row.add_sums(metrics[: len(SUMS)])
    rest = metrics[len(SUMS) :]
    if statement.tail == "histogram":
        row.histogram = [have + (count or 0) for have, count in zip(row.histogram, rest, strict=True)]
    elif statement.tail == "bucket":
        row.histogram[int(rest[0])] += int(metrics[0] or 0)
    elif rest[0]:
        row.p50_ms, row.p95_ms = (float(v) for v in rest[0])


def _value(value: Any) -> Any:
    """Dates arrive as ``date`` from one source and as text from another: the same group must merge."""
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


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
        labels[dimension] = str(value) if value != "" else None
    return labels


def _order(row: ReportRow) -> tuple[Any, ...]:
    return (-row.cost_usd, -row.requests, tuple((v is None, v or "") for v in row.group.values()))


def _midnight(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), datetime.min.time())
