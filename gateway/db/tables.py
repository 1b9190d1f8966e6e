"""Imports every table module, so that Alembic and ``SQLModel.metadata`` see all of them.

Each feature keeps its tables in its own module under ``gateway/db/`` and adds one import line here.
"""
import gateway.db.logs  # noqa: F401
import gateway.db.keys  # noqa: F401
import gateway.db.prompts  # noqa: F401  (also imports gateway.db.audit)
import gateway.db.evals  # noqa: F401
