"""Imports every table module, so that Alembic and ``SQLModel.metadata`` see all of them.

Each feature keeps its tables in its own module under ``gateway/db/`` and adds one import line here.
"""

import gateway.db.evals
import gateway.db.keys
import gateway.db.logs
import gateway.db.prompts  # noqa: F401  (also imports gateway.db.audit)
