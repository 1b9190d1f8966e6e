"""Dashboard: partial indexes for the Cache and Guardrails pages' reads of the request log (the semantic hits of a
period, the requests with guardrail findings), so each reads its few rows instead of the whole range.

Revision ID: 0010_telemetry
Revises: 0009_responses
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_telemetry"
down_revision = "0009_responses"
branch_labels = None
depends_on = None

SEMANTIC = sa.text("cache_status = 'semantic-hit'")
FINDINGS = sa.text("guardrails IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_request_logs_semantic_hits",
        "request_logs",
        ["created_at"],
        postgresql_where=SEMANTIC,
        sqlite_where=SEMANTIC,
    )
    op.create_index(
        "ix_request_logs_guardrails",
        "request_logs",
        ["created_at"],
        postgresql_where=FINDINGS,
        sqlite_where=FINDINGS,
    )


def downgrade() -> None:
    op.drop_index("ix_request_logs_guardrails", table_name="request_logs")
    op.drop_index("ix_request_logs_semantic_hits", table_name="request_logs")
