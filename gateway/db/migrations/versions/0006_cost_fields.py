"""Cost fields: cache-write tokens per request; the model that answered, and tags by every dimension, in roll-ups.

Request log: ``cache_write_tokens`` (Anthropic's cache_creation_input_tokens, inside prompt_tokens) and
``cache_write_1h_tokens`` (the part written with a 1-hour lifetime), so rows can be re-priced.

Roll-ups: ``daily_rollups`` gains ``upstream_model`` (the model that answered, a fallback's say) in its key, and
``daily_tag_rollups`` gains every dimension of ``daily_rollups`` in its key, so that reports by tag and model (key,
team, ...) read roll-ups instead of unnesting the whole log. ``daily_tag_rollups`` is rebuilt from the request log,
which holds every request it counts (the writer adds to the roll-ups in the same transaction as it inserts the log
rows); ``daily_rollups`` keeps its rows, with ``upstream_model`` '' for the days before the upgrade.

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
    op.drop_index("ux_daily_tag_rollups_dims", "daily_tag_rollups")
    with op.batch_alter_table("daily_tag_rollups") as batch:
        for name in DIMENSIONS:
            kind = sa.Integer() if name == "prompt_version" else sa.String(LENGTHS[name])
            batch.add_column(sa.Column(name, kind, nullable=False, server_default="0" if name == "prompt_version"
                                       else ""))
    op.create_index("ux_daily_tag_rollups_dims", "daily_tag_rollups", ["day", "tag", *DIMENSIONS], unique=True)
    # The tag roll-ups are rebuilt with their new dimensions; the daily roll-ups keep their rows (upstream_model ''
    # for the days before this upgrade: the log holds it, but a roll-up row cannot be split without a rebuild).
    _rebuild(op.get_bind(), rollups=False)


def downgrade() -> None:
    op.drop_index("ux_daily_tag_rollups_dims", "daily_tag_rollups")
    op.execute("DELETE FROM daily_tag_rollups")  # rebuilt below, per day and tag only
    with op.batch_alter_table("daily_tag_rollups") as batch:
        for name in reversed(DIMENSIONS):
            batch.drop_column(name)
    op.create_index("ux_daily_tag_rollups_dims", "daily_tag_rollups", ["day", "tag"], unique=True)
    op.drop_index("ux_daily_rollups_dims", "daily_rollups")
    op.execute("DELETE FROM daily_rollups")
    with op.batch_alter_table("daily_rollups") as batch:
        batch.drop_column("upstream_model")
    op.create_index("ux_daily_rollups_dims", "daily_rollups", ["day", *OLD_DIMENSIONS], unique=True)
    _rebuild(op.get_bind(), dimensions=OLD_DIMENSIONS, tag_dimensions=[])
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("cache_write_1h_tokens")
        batch.drop_column("cache_write_tokens")


def _rebuild(
    bind: sa.Connection,
    dimensions: list[str] = DIMENSIONS,
    tag_dimensions: list[str] | None = None,
    *,
    rollups: bool = True,
) -> None:
    """The tag roll-ups (and with ``rollups`` the daily roll-ups) again, from the request log, read in batches."""
    tag_dimensions = dimensions if tag_dimensions is None else tag_dimensions
    log = sa.table("request_logs", *(sa.column(name) for name in _LOG_COLUMNS))
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    tagged: dict[tuple[Any, ...], dict[str, Any]] = {}
    result = bind.execute(sa.select(*log.c).execution_options(yield_per=_BATCH))  # on the statement: the
    # connection's own options would stream the statements after it too
    for row in result.mappings():
        day = _day(row["created_at"])
        labels = [_label(name, row[name]) for name in dimensions]
        if rollups:
            _add(summed, ["day", *dimensions], (day, *labels), row)
        tag_labels = [_label(name, row[name]) for name in tag_dimensions]
        for tag in dict.fromkeys(_label("tag", tag) for tag in _tags(row["tags"])) or [""]:
            _add(tagged, ["day", "tag", *tag_dimensions], (day, tag, *tag_labels), row)
    if rollups:
        bind.execute(sa.text("DELETE FROM daily_rollups"))
        _insert(bind, "daily_rollups", summed.values())
    bind.execute(sa.text("DELETE FROM daily_tag_rollups"))
    _insert(bind, "daily_tag_rollups", tagged.values())


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
