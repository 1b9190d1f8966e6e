"""Cost fields: cache-write tokens per request, so rows can be re-priced.

Request log: ``cache_write_tokens`` (Anthropic's cache_creation_input_tokens, inside prompt_tokens) and
``cache_write_1h_tokens`` (the part written with a 1-hour lifetime).

Revision ID: 0006_cost_fields
Revises: 0005_evals
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_cost_fields"
down_revision = "0005_evals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(sa.Column("cache_write_tokens", sa.Integer()))
        batch.add_column(sa.Column("cache_write_1h_tokens", sa.Integer()))


def downgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("cache_write_1h_tokens")
        batch.drop_column("cache_write_tokens")
