"""Request log and daily roll-ups.

Revision ID: 0002_request_log
Revises: 0001_base
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_request_log"
down_revision = "0001_base"
branch_labels = ("request_log",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_logs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("endpoint", sa.String(32), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("deployment_id", sa.String(255)),
        sa.Column("provider", sa.String(64)),
        sa.Column("upstream_model", sa.String(255)),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("stream", sa.Boolean(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float()),
        sa.Column("prompt_tokens", sa.Integer()),
        sa.Column("completion_tokens", sa.Integer()),
        sa.Column("cached_tokens", sa.Integer()),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("cache_status", sa.String(16), nullable=False),
        sa.Column("error_type", sa.String(64)),
        sa.Column("error_message", sa.Text()),
        sa.Column("key_id", sa.String(64)),
        sa.Column("team_id", sa.String(64)),
        sa.Column("user", sa.String(255)),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("prompt_name", sa.String(255)),
        sa.Column("prompt_version", sa.Integer()),
        sa.Column("request_body", sa.Text()),
        sa.Column("response_body", sa.Text()),
    )
    op.create_index("ix_request_logs_created_at", "request_logs", ["created_at"])
    op.create_index("ix_request_logs_key_created", "request_logs", ["key_id", "created_at"])
    op.create_index("ix_request_logs_team_created", "request_logs", ["team_id", "created_at"])
    op.create_index("ix_request_logs_model_created", "request_logs", ["model", "created_at"])
    op.create_index("ix_request_logs_prompt", "request_logs", ["prompt_name", "prompt_version", "created_at"])
    op.create_table(
        "daily_rollups",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("model", sa.String(255), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("prompt_name", sa.String(255), nullable=False),
        sa.Column("prompt_version", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("cached", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.BigInteger(), nullable=False),
        sa.Column("completion_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("unpriced", sa.Integer(), nullable=False),
        sa.Column("cache_savings_usd", sa.Float(), nullable=False),
        sa.Column("latency_ms_sum", sa.Float(), nullable=False),
    )
    op.create_index(
        "ux_daily_rollups_dims",
        "daily_rollups",
        ["day", "key_id", "team_id", "model", "provider", "prompt_name", "prompt_version"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_table("daily_rollups")
    op.drop_table("request_logs")
