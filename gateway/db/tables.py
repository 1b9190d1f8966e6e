"""Imports every table module, so that Alembic and ``SQLModel.metadata`` see all of them.

Each feature keeps its tables in its own module under ``gateway/db/`` and adds one import line here.
"""
import gateway.db.logs  # noqa: F401
