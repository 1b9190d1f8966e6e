"""Imports every table module, so that Alembic and ``SQLModel.metadata`` see all of them.

Each feature keeps its tables in its own module under ``gateway/db/`` and adds one import line here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gateway.db.evals
import gateway.db.keys
import gateway.db.logs
import gateway.db.prompts
import gateway.db.responses  # noqa: F401

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

#: Tables the migrations create without a model, on purpose. ``key_store_version`` is one row and one integer that
#: ``gateway.keys.store`` reads and bumps with plain SQL.
UNMODELLED_TABLES = frozenset({"key_store_version"})


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Alembic's ``include_name`` hook: autogenerate must neither drop nor diff the ``UNMODELLED_TABLES``."""
    return not (type_ == "table" and name in UNMODELLED_TABLES)
