"""Alembic environment: runs migrations on the engine the gateway hands in (see ``Database.upgrade``).

Before Alembic reads ``alembic_version``, a database migrated with the old branched history is moved onto the one
chain, in the same transaction (see ``gateway.db.migrations.branched``).
"""

from __future__ import annotations

from alembic import context
from alembic.operations import Operations
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from gateway.db.migrations.branched import join_chain
from gateway.db.tables import include_name  # also registers every table on SQLModel.metadata

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            include_name=include_name,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        join_chain(connection, run_revision)
        context.run_migrations()


def run_revision(revision: str) -> None:
    """Run one revision's ``upgrade()`` on the configured connection, without moving ``alembic_version``."""
    module = context.script.get_revision(revision).module  # type: ignore[union-attr]
    with Operations.context(context.get_context()):
        module.upgrade()


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata, include_name=include_name
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
