"""Cost fields: cache-write tokens per request; the model that answered, and tags by every dimension, in roll-ups.

Request log: ``cache_write_tokens`` (Anthropic's cache_creation_input_tokens, inside prompt_tokens) and
``cache_write_1h_tokens`` (the part written with a 1-hour lifetime), so rows can be re-priced.

Roll-ups: ``daily_rollups`` gains ``upstream_model`` (the model that answered, a fallback's say) in its key (''
for the days before the upgrade), and the new ``daily_tag_dim_rollups`` holds the sums per day, tag and every
dimension of ``daily_rollups``, so that reports by tag and model (key, team, ...) read roll-ups instead of unnesting
the whole log. It is filled from the request log, which holds every request the roll-ups count (the writer adds to
them in the same transaction as it inserts the log rows).

Revision ID: 0006_cost_fields
Revises: 0005_evals
Create Date: 2026-11-29
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006_cost_fields"
down_revision = "0005_evals"
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when the application's constants do.
LATENCY_BOUNDS = tuple(4.0 * 1.3**i for i in range(44))
LATENCY_COLUMNS = [f"lat_{i:02d}" for i in range(45)]
SUMS = ["requests", "errors", "cached", "prompt_tokens", "completion_tokens", "cost_usd", "unpriced",
        "cache_savings_usd", "latency_ms_sum", "estimated"]
DIMENSIONS = ["key_id", "team_id", "model", "provider", "upstream_model", "prompt_name", "prompt_version"]
OLD_DIMENSIONS = ["key_id", "team_id", "model", "provider", "prompt_name", "prompt_version"]
LENGTHS = {"key_id": 64, "team_id": 64, "model": 255, "provider": 64, "upstream_model": 255, "prompt_name": 255,
           "tag": 255}
_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(sa.Column("cache_write_tokens", sa.Integer()))
        batch.add_column(sa.Column("cache_write_1h_tokens", sa.Integer()))
    op.drop_index("ux_daily_rollups_dims", "daily_rollups")
    with op.batch_alter_table("daily_rollups") as batch:
        batch.add_column(sa.Column("upstream_model", sa.String(255), nullable=False, server_default=""))
    op.create_index("ux_daily_rollups_dims", "daily_rollups", ["day", *DIMENSIONS], unique=True)
    op.create_table(
        "daily_tag_dim_rollups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        *(sa.Column(name, sa.String(LENGTHS[name]), nullable=False) for name in DIMENSIONS[:-1]),
        sa.Column("prompt_version", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in ("requests", "errors", "cached")),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("unpriced", sa.Integer(), nullable=False),
        sa.Column("cache_savings_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("estimated", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in LATENCY_COLUMNS),
    )
    op.create_index(
        "ux_daily_tag_dim_rollups_dims", "daily_tag_dim_rollups", ["day", "tag", *DIMENSIONS], unique=True
    )
    _fill_tag_dimensions(op.get_bind())


def downgrade() -> None:
    op.drop_table("daily_tag_dim_rollups")
    op.drop_index("ux_daily_rollups_dims", "daily_rollups")
    # Rows that differ only in upstream_model would collide in the old key: merged first.
    rollups = sa.table("daily_rollups", *(sa.column(name) for name in ["id", "day", *OLD_DIMENSIONS, *SUMS,
                                                                       *LATENCY_COLUMNS]))
    bind = op.get_bind()
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in bind.execute(sa.select(rollups)).mappings():
        key = tuple(row[name] for name in ["day", *OLD_DIMENSIONS])
        found = merged.setdefault(key, {name: row[name] for name in ["day", *OLD_DIMENSIONS]})
        for name in (*SUMS, *LATENCY_COLUMNS):
            found[name] = found.get(name, 0) + (row[name] or 0)
    bind.execute(sa.text("DELETE FROM daily_rollups"))
    with op.batch_alter_table("daily_rollups") as batch:
        batch.drop_column("upstream_model")
    _insert(bind, "daily_rollups", merged.values())
    op.create_index("ux_daily_rollups_dims", "daily_rollups", ["day", *OLD_DIMENSIONS], unique=True)
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("cache_write_1h_tokens")
        batch.drop_column("cache_write_tokens")


def _fill_tag_dimensions(bind: sa.Connection) -> None:
    """``daily_tag_dim_rollups`` from the request log, read in batches."""
    log = sa.table("request_logs", *(sa.column(name) for name in _LOG_COLUMNS))
    tagged: dict[tuple[Any, ...], dict[str, Any]] = {}
    # yield_per on the statement: on the connection it would stream the statements after it too.
    for row in bind.execute(sa.select(*log.c).execution_options(yield_per=_BATCH)).mappings():
        labels = [_label(name, row[name]) for name in DIMENSIONS]
        for tag in dict.fromkeys(_label("tag", tag) for tag in _tags(row["tags"])) or [""]:
            _add(tagged, ["day", "tag", *DIMENSIONS], (_day(row["created_at"]), tag, *labels), row)
    _insert(bind, "daily_tag_dim_rollups", tagged.values())


_LOG_COLUMNS = ["created_at", "key_id", "team_id", "model", "provider", "upstream_model", "prompt_name",
                "prompt_version", "status", "cache_status", "prompt_tokens", "completion_tokens", "cost_usd",
                "cache_savings_usd", "latency_ms", "tokens_estimated", "tags"]


def _add(sums: dict[tuple[Any, ...], dict[str, Any]], names: list[str], key: tuple[Any, ...], row: Any) -> None:
    found = sums.get(key)
    if found is None:
        found = sums[key] = {**dict(zip(names, key, strict=True)), **dict.fromkeys([*SUMS, *LATENCY_COLUMNS], 0)}
    found["requests"] += 1
    found["errors"] += row["status"] >= 400
    found["cached"] += row["cache_status"] == "hit"
    found["prompt_tokens"] += row["prompt_tokens"] or 0
    found["completion_tokens"] += row["completion_tokens"] or 0
    if row["cost_usd"] is None:
        found["unpriced"] += 1
    else:
        found["cost_usd"] += row["cost_usd"]
    found["cache_savings_usd"] += row["cache_savings_usd"] or 0.0
    found["latency_ms_sum"] += row["latency_ms"]
    found["estimated"] += bool(row["tokens_estimated"])
    found[LATENCY_COLUMNS[bisect_right(LATENCY_BOUNDS, row["latency_ms"])]] += 1


def _insert(bind: sa.Connection, name: str, rows: Iterable[dict[str, Any]]) -> None:
    batch: list[dict[str, Any]] = []
    table: sa.TableClause | None = None
    for row in rows:
        table = table if table is not None else sa.table(name, *(sa.column(column) for column in row))
        batch.append(row)
        if len(batch) >= _BATCH:
            bind.execute(sa.insert(table), batch)
            batch = []
    if batch and table is not None:
        bind.execute(sa.insert(table), batch)


def _label(name: str, value: Any) -> Any:
    if name == "prompt_version":
        return value or 0
    return str(value or "")[: LENGTHS[name]]


def _day(value: Any) -> date:
    return value.date() if isinstance(value, datetime) else datetime.fromisoformat(str(value)).date()


def _tags(value: Any) -> list[str]:
    if isinstance(value, str):  # SQLite hands JSON back as text
        value = json.loads(value)
    return [str(tag) for tag in value] if isinstance(value, list) else []
