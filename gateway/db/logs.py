"""The request log: one row per request, and a daily roll-up that keeps reports fast at millions of rows.

Rows are written by the background batch writer only (``gateway.ledger``), never on the request path.
Prompt and response text are stored only for keys that switch it on.

``daily_tag_rollups`` holds the same sums per day and tag, so that reports by tag do not scan the log either.
A roll-up row also carries a latency histogram (``lat_00`` .. ``lat_44``: request counts per bucket, bounds in
``LATENCY_BOUNDS_MS``), because exact percentiles over millions of raw rows take seconds, while summing the
histograms of the roll-up rows takes milliseconds. Reports read p50/p95 from it (see ``gateway.reports``).
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Table, Text, text
from sqlmodel import Field, SQLModel

#: Upper bounds (ms, exclusive) of the latency buckets: 4 ms growing by 30% per bucket up to ~5 minutes; one
#: more bucket holds everything slower. Changing them needs a migration and makes old roll-ups unreadable.
LATENCY_BOUNDS_MS: tuple[float, ...] = tuple(4.0 * 1.3**i for i in range(44))
LATENCY_COLUMNS: tuple[str, ...] = tuple(f"lat_{i:02d}" for i in range(len(LATENCY_BOUNDS_MS) + 1))


def latency_bucket(latency_ms: float) -> int:
    """The index of the bucket ``latency_ms`` falls in."""
    return bisect_right(LATENCY_BOUNDS_MS, latency_ms)


class RequestLog(SQLModel, table=True):
    __tablename__ = "request_logs"
    __table_args__ = (
        Index("ix_request_logs_created_at", "created_at"),
        Index("ix_request_logs_key_created", "key_id", "created_at"),
        Index("ix_request_logs_team_created", "team_id", "created_at"),
        Index("ix_request_logs_model_created", "model", "created_at"),
        Index("ix_request_logs_prompt", "prompt_name", "prompt_version", "created_at"),
        # Partial: the dashboard's Cache and Guardrails pages read only these few rows of a period (0010_telemetry).
        Index(
            "ix_request_logs_semantic_hits",
            "created_at",
            postgresql_where=text("cache_status = 'semantic-hit'"),
            sqlite_where=text("cache_status = 'semantic-hit'"),
        ),
        Index(
            "ix_request_logs_guardrails",
            "created_at",
            postgresql_where=text("guardrails IS NOT NULL"),
            sqlite_where=text("guardrails IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(max_length=64, unique=True)
    # Naive UTC, like the migration's column: SQLModel's default datetime type would demand aware values.
    created_at: datetime = Field(sa_column=Column(DateTime(), nullable=False))
    endpoint: str = Field(max_length=32)
    model: str = Field(max_length=255)
    deployment_id: str | None = Field(default=None, max_length=255)
    provider: str | None = Field(default=None, max_length=64)
    upstream_model: str | None = Field(default=None, max_length=255)
    status: int
    stream: bool = False
    attempts: int = 0
    latency_ms: float
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    cache_status: str = Field(default="none", max_length=16)
    error_type: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, sa_type=Text)
    key_id: str | None = Field(default=None, max_length=64)
    team_id: str | None = Field(default=None, max_length=64)
    user: str | None = Field(default=None, max_length=255)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=Column("metadata", JSON, nullable=False))
    prompt_name: str | None = Field(default=None, max_length=255)
    prompt_version: int | None = None
    request_body: str | None = Field(default=None, sa_type=Text)
    response_body: str | None = Field(default=None, sa_type=Text)
    reasoning_tokens: int | None = None
    tokens_estimated: bool = False
    cache_savings_usd: float | None = None
    #: Cache writes (Anthropic's cache_creation_input_tokens), inside prompt_tokens; the 1-hour part of them.
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    cache_similarity: float | None = None
    # What guardrails found and did: [{guardrail, policy, stage, action, entity}], never the values; None: nothing.
    guardrails: list[dict[str, str]] | None = Field(
        default=None,
        sa_column=Column(JSON(none_as_null=True), nullable=True),  # None: SQL NULL, not JSON null
    )


class RollupSums(SQLModel):
    """The plain sums every roll-up row carries, besides its latency histogram (``LatencyHistogram``)."""

    requests: int = 0
    errors: int = 0
    cached: int = 0
    prompt_tokens: int = Field(default=0, sa_type=BigInteger)  # like the migration: sums over many requests
    completion_tokens: int = Field(default=0, sa_type=BigInteger)
    cost_usd: float = 0.0
    unpriced: int = 0
    cache_savings_usd: float = 0.0
    latency_ms_sum: float = 0.0
    estimated: int = 0


def _bucket() -> Any:
    """One histogram column: a request count, 0 by default on both sides (the migration's ``server_default``)."""
    return Field(default=0, sa_column_kwargs={"default": 0, "server_default": "0"})


class LatencyHistogram(SQLModel):
    """Request counts per latency bucket: ``lat_00`` .. ``lat_44``, bounds in ``LATENCY_BOUNDS_MS``.

    Spelled out rather than added to the tables afterwards, so that a table is whole when its class is (and
    nothing runs at import); ``tests/db`` checks the names against ``LATENCY_COLUMNS``.
    """

    lat_00: int = _bucket()
    lat_01: int = _bucket()
    lat_02: int = _bucket()
    lat_03: int = _bucket()
    lat_04: int = _bucket()
    lat_05: int = _bucket()
    lat_06: int = _bucket()
    lat_07: int = _bucket()
    lat_08: int = _bucket()
    lat_09: int = _bucket()
    lat_10: int = _bucket()
    lat_11: int = _bucket()
    lat_12: int = _bucket()
    lat_13: int = _bucket()
    lat_14: int = _bucket()
    lat_15: int = _bucket()
    lat_16: int = _bucket()
    lat_17: int = _bucket()
    lat_18: int = _bucket()
    lat_19: int = _bucket()
    lat_20: int = _bucket()
    lat_21: int = _bucket()
    lat_22: int = _bucket()
    lat_23: int = _bucket()
    lat_24: int = _bucket()
    lat_25: int = _bucket()
    lat_26: int = _bucket()
    lat_27: int = _bucket()
    lat_28: int = _bucket()
    lat_29: int = _bucket()
    lat_30: int = _bucket()
    lat_31: int = _bucket()
    lat_32: int = _bucket()
    lat_33: int = _bucket()
    lat_34: int = _bucket()
    lat_35: int = _bucket()
    lat_36: int = _bucket()
    lat_37: int = _bucket()
    lat_38: int = _bucket()
    lat_39: int = _bucket()
    lat_40: int = _bucket()
    lat_41: int = _bucket()
    lat_42: int = _bucket()
    lat_43: int = _bucket()
    lat_44: int = _bucket()


class DailyRollup(RollupSums, LatencyHistogram, table=True):
    """Sums per day and dimension; reports read these instead of scanning the log."""

    __tablename__ = "daily_rollups"
    __table_args__ = (
        Index(
            "ux_daily_rollups_dims",
            "day",
            "key_id",
            "team_id",
            "model",
            "provider",
            "upstream_model",
            "prompt_name",
            "prompt_version",
            unique=True,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    key_id: str = Field(default="", max_length=64)
    team_id: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=255)
    provider: str = Field(default="", max_length=64)
    upstream_model: str = Field(default="", max_length=255)  # the model that answered (a fallback's, say)
    prompt_name: str = Field(default="", max_length=255)
    prompt_version: int = 0


class DailyTagRollup(RollupSums, LatencyHistogram, table=True):
    """The same sums per day and tag (a request counts once under each of its tags; untagged ones under "")."""

    __tablename__ = "daily_tag_rollups"
    __table_args__ = (Index("ux_daily_tag_rollups_dims", "day", "tag", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    day: date
    tag: str = Field(default="", max_length=255)


class DailyTagDimRollup(RollupSums, LatencyHistogram, table=True):
    """The same sums per day, tag and every dimension of ``daily_rollups``, so that tags crossed with a model, key,
    team... (or filtered) are read from roll-ups too. Larger than ``daily_tag_rollups``, which stays for reports by
    tag and day alone."""

    __tablename__ = "daily_tag_dim_rollups"
    __table_args__ = (
        Index(
            "ux_daily_tag_dim_rollups_dims",
            "day",
            "tag",
            "key_id",
            "team_id",
            "model",
            "provider",
            "upstream_model",
            "prompt_name",
            "prompt_version",
            unique=True,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    day: date
    tag: str = Field(default="", max_length=255)
    key_id: str = Field(default="", max_length=64)
    team_id: str = Field(default="", max_length=64)
    model: str = Field(default="", max_length=255)
    provider: str = Field(default="", max_length=64)
    upstream_model: str = Field(default="", max_length=255)
    prompt_name: str = Field(default="", max_length=255)
    prompt_version: int = 0


#: The sum columns, in one place for the writer and the reports.
ROLLUP_SUM_COLUMNS = tuple(RollupSums.model_fields)


def request_logs_table() -> Table:
    return SQLModel.metadata.tables[RequestLog.__tablename__]  # type: ignore[index]


def daily_rollups_table() -> Table:
    return SQLModel.metadata.tables[DailyRollup.__tablename__]  # type: ignore[index]


def daily_tag_rollups_table() -> Table:
    return SQLModel.metadata.tables[DailyTagRollup.__tablename__]  # type: ignore[index]


def daily_tag_dim_rollups_table() -> Table:
    return SQLModel.metadata.tables[DailyTagDimRollup.__tablename__]  # type: ignore[index]

