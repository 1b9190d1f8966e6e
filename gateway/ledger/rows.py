"""Pure functions from request records to database rows: one ``request_logs`` row per record, and the
``daily_rollups`` / ``daily_tag_rollups`` / ``daily_tag_dim_rollups`` increments for a set of records (one row per
day and dimension).

Times are naive UTC, as everywhere in the database. Every string is cleaned of what PostgreSQL text refuses
(NUL, lone surrogates) and cut to its column's length, and the JSON columns are bounded again
(``bounded_metadata``), so that no value a client sends (``"user": "a\\u0000b"``, a 300-character model name, a
tag with NUL) can make the database refuse the row: the record, and its cost, always reach the log and roll-ups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import String, Table
from sqlalchemy.types import TypeDecorator

from gateway.db.logs import LATENCY_COLUMNS, ROLLUP_SUM_COLUMNS, latency_bucket
from gateway.pipeline.records import RequestRecord, bounded_metadata, clean_text

#: The columns of ``daily_rollups`` that identify a row (its unique index), in that index's order.
ROLLUP_DIMENSIONS = (
    "day", "key_id", "team_id", "model", "provider", "upstream_model", "prompt_name", "prompt_version"
)
#: The same for ``daily_tag_rollups``.
TAG_ROLLUP_DIMENSIONS = ("day", "tag")
#: The same for ``daily_tag_dim_rollups``: the tag, then the dimensions of ``daily_rollups``.
TAG_DIM_ROLLUP_DIMENSIONS = ("day", "tag", *ROLLUP_DIMENSIONS[1:])
TAG_LENGTH = 255
CACHE_HITS = ("hit", "semantic-hit")  # a roll-up's `cached`: answers the cache gave, exact or semantic
#: The columns of ``daily_rollups`` that are sums.
ROLLUP_SUMS = (
    *ROLLUP_SUM_COLUMNS,
    *LATENCY_COLUMNS,
)

RollupKey = tuple[date, str, str, str, str, str, str, int]


def utc_datetime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def string_limits(table: Table) -> dict[str, int]:
    """Column name -> maximum length, for the bounded string columns of ``table``.

    SQLModel declares them as ``AutoString``, a ``TypeDecorator`` (not a ``String``): read the length from either,
    or no limit was found and PostgreSQL refused every overlong value."""
    limits: dict[str, int] = {}
    for column in table.columns:
        kind = column.type
        length = getattr(kind, "length", None) if isinstance(kind, String | TypeDecorator) else None
        if isinstance(length, int) and length > 0:
            limits[column.name] = length
    return limits


def log_row(record: RequestRecord, limits: Mapping[str, int]) -> dict[str, Any]:
    row: dict[str, Any] = {
        "request_id": record.request_id,
        "created_at": utc_datetime(record.created_at),
        "endpoint": record.endpoint,
        "model": record.model,
        "deployment_id": record.deployment_id,
        "provider": record.provider,
        "upstream_model": record.upstream_model,
        "status": record.status,
        "stream": record.stream,
        "attempts": record.attempts,
        "latency_ms": record.latency_ms,
        "ttft_ms": record.ttft_ms,
        "prompt_tokens": record.prompt_tokens,
        "completion_tokens": record.completion_tokens,
        "cached_tokens": record.cached_tokens,
        "reasoning_tokens": record.reasoning_tokens,
        "tokens_estimated": record.tokens_estimated,
        "cost_usd": record.cost_usd,
        "cache_savings_usd": record.cache_savings_usd,
        "cache_write_tokens": record.cache_write_tokens,
        "cache_write_1h_tokens": record.cache_write_1h_tokens,
        "guardrails": record.guardrails,
        "cache_status": record.cache_status,
        "cache_similarity": record.cache_similarity,
        "error_type": record.error_type,
        "error_message": record.error_message,
        "key_id": record.key_id,
        "team_id": record.team_id,
        "user": record.user,
        # Each tag once, after cleaning and cutting (which can make two tags one): reports read the raw log too.
        "tags": list(dict.fromkeys(_tag(tag) for tag in record.tags)),
        "metadata": bounded_metadata(dict(record.metadata)),
        "prompt_name": record.prompt_name,
        "prompt_version": record.prompt_version,
        "request_body": record.request_body,
        "response_body": record.response_body,
    }
    for name, value in row.items():
        if isinstance(value, str):
            row[name] = clean_text(value)[: limits.get(name)]
    return row


def rollup_key(record: RequestRecord, limits: Mapping[str, int]) -> RollupKey:
    def cut(name: str, value: str | None) -> str:
        return clean_text(value or "")[: limits.get(name, 255)]

    return (
        utc_datetime(record.created_at).date(),
        cut("key_id", record.key_id),
        cut("team_id", record.team_id),
        cut("model", record.model),
        cut("provider", record.provider),
        cut("upstream_model", record.upstream_model),
        cut("prompt_name", record.prompt_name),
        record.prompt_version or 0,
    )


def rollup_rows(records: Iterable[RequestRecord], limits: Mapping[str, int]) -> list[dict[str, Any]]:
    """The increments for ``records``, one row per key, sorted by key (a fixed lock order between writers)."""
    sums: dict[RollupKey, dict[str, Any]] = {}
    for record in records:
        key = rollup_key(record, limits)
        row = sums.get(key)
        if row is None:
            row = sums[key] = {**dict(zip(ROLLUP_DIMENSIONS, key, strict=True)), **dict.fromkeys(ROLLUP_SUMS, 0)}
        _add(row, record)
    return [sums[key] for key in sorted(sums)]


def tag_rollup_rows(records: Iterable[RequestRecord]) -> list[dict[str, Any]]:
    """Increments per day and tag: a record adds to each of its distinct tags, or to "" when it has none."""
    sums: dict[tuple[date, str], dict[str, Any]] = {}
    for record in records:
        day = utc_datetime(record.created_at).date()
        for tag in {_tag(tag) for tag in record.tags} or {""}:
            row = sums.get((day, tag))
            if row is None:
                row = sums[(day, tag)] = {"day": day, "tag": tag, **dict.fromkeys(ROLLUP_SUMS, 0)}
            _add(row, record)
    return [sums[key] for key in sorted(sums)]


def tag_dim_rollup_rows(records: Iterable[RequestRecord], limits: Mapping[str, int]) -> list[dict[str, Any]]:
    """Increments per day, tag and dimension (``daily_tag_dim_rollups``), sorted by key like ``rollup_rows``."""
    sums: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        day, *dimensions = rollup_key(record, limits)
        for tag in {_tag(tag) for tag in record.tags} or {""}:
            key = (day, tag, *dimensions)
            row = sums.get(key)
            if row is None:
                labels = dict(zip(TAG_DIM_ROLLUP_DIMENSIONS, key, strict=True))
                row = sums[key] = {**labels, **dict.fromkeys(ROLLUP_SUMS, 0)}
            _add(row, record)
    return [sums[key] for key in sorted(sums)]


def _tag(tag: object) -> str:
    return clean_text(str(tag))[:TAG_LENGTH]


def _add(row: dict[str, Any], record: RequestRecord) -> None:
    row["requests"] += 1
    row["errors"] += record.status >= 400
    row["cached"] += record.cache_status in CACHE_HITS
    row["prompt_tokens"] += record.prompt_tokens or 0
    row["completion_tokens"] += record.completion_tokens or 0
    if record.cost_usd is None:
        row["unpriced"] += 1
    else:
        row["cost_usd"] += record.cost_usd
    row["cache_savings_usd"] += record.cache_savings_usd or 0.0
    row["latency_ms_sum"] += record.latency_ms
    row["estimated"] += record.tokens_estimated
    row[LATENCY_COLUMNS[latency_bucket(record.latency_ms)]] += 1
