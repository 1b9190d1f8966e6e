"""Request log costs: per-row cache savings and estimates, roll-up latency histograms, roll-ups per tag.

Request log: reasoning tokens, estimated-token flag and cache savings per row. Roll-ups: a count of estimated
rows and a latency histogram (lat_00 .. lat_44, see gateway.db.logs.LATENCY_BOUNDS_MS). New: daily_tag_rollups.

Revision ID: 0002b_request_log_costs
Revises: 0002_request_log
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002b_request_log_costs"
down_revision = "0002_request_log"
branch_labels = None
depends_on = None

# Frozen here on purpose: a migration must not change when the application's constants do.
LATENCY_COLUMNS = [f"lat_{i:02d}" for i in range(45)]


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(sa.Column("reasoning_tokens", sa.Integer()))
        batch.add_column(sa.Column("tokens_estimated", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("cache_savings_usd", sa.Float()))
    with op.batch_alter_table("daily_rollups") as batch:
        batch.add_column(sa.Column("estimated", sa.Integer(), nullable=False, server_default="0"))
        for name in LATENCY_COLUMNS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "daily_tag_rollups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("unpriced", sa.Integer(), nullable=False),
        sa.Column("cache_savings_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
        sa.Column("estimated", sa.Integer(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False, server_default="0") for name in LATENCY_COLUMNS),
    )
    op.create_index("ux_daily_tag_rollups_dims", "daily_tag_rollups", ["day", "tag"], unique=True)


def downgrade() -> None:
    op.drop_table("daily_tag_rollups")
    with op.batch_alter_table("daily_rollups") as batch:
        for name in reversed(LATENCY_COLUMNS):
            batch.drop_column(name)
        batch.drop_column("estimated")
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("cache_savings_usd")
        batch.drop_column("tokens_estimated")
        batch.drop_column("reasoning_tokens")
