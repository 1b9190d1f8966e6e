"""Response cache: the similarity of a cache hit, per request.

Revision ID: 0007_cache
Revises: 0005_evals
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_cache"
down_revision = "0006_cost_fields"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.add_column(sa.Column("cache_similarity", sa.Float()))


def downgrade() -> None:
    with op.batch_alter_table("request_logs") as batch:
        batch.drop_column("cache_similarity")
