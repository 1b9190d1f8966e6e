"""Eval runs and per-case results.

Revision ID: 0005_evals
Revises: 0004_prompts
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_evals"
down_revision = "0004_prompts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "eval_runs",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(32), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("suite", sa.String(255), nullable=False),
        sa.Column("suite_hash", sa.String(64), nullable=False),
        sa.Column("prompt_name", sa.String(255)),
        sa.Column("prompt_version", sa.Integer()),
        sa.Column("label", sa.String(64)),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("pass_rate", sa.Float(), nullable=False),
        sa.Column("mean_score", sa.Float(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("passed_count", sa.Integer(), nullable=False),
        sa.Column("failed_count", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("git_sha", sa.String(64)),
    )
    op.create_index("ix_eval_runs_suite_created", "eval_runs", ["suite", "created_at"])
    op.create_index("ix_eval_runs_prompt", "eval_runs", ["prompt_name", "prompt_version", "created_at"])
    op.create_table(
        "eval_results",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(32), sa.ForeignKey("eval_runs.run_id"), nullable=False),
        sa.Column("case_id", sa.String(255), nullable=False),
        sa.Column("description", sa.String()),
        sa.Column("model", sa.String(255)),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("vars", sa.JSON(), nullable=False),
        sa.Column("output", sa.Text()),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("assertions", sa.JSON(), nullable=False),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("error", sa.Text()),
        sa.Column("cached", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_eval_results_run", "eval_results", ["run_id"])


def downgrade() -> None:
    op.drop_table("eval_results")
    op.drop_table("eval_runs")
