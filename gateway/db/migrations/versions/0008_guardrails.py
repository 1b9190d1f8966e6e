"""Guardrails: findings on the request log (what each guardrail found and did, never the matched values), and the
guardrail policies attached to a virtual key or a team.

Revision ID: 0008_guardrails
Revises: 0005_evals
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_guardrails"
down_revision = "0007_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(sa.Column("guardrails", sa.JSON(), nullable=True))
    for table in ("virtual_keys", "teams"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("guardrails", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("teams", "virtual_keys", "request_logs"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("guardrails")
