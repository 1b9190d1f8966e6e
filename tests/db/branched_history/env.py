"""Alembic environment for the frozen branched history: the migrations exactly as released up to commit c5d969b.

Test data only. Databases migrated with these files (``upgrade heads``) hold one ``alembic_version`` row per
branch head; ``tests/db/test_migrations.py`` builds such databases and upgrades them with the one chain.
"""

from __future__ import annotations

from alembic import context

with context.config.attributes["engine"].begin() as connection:
    context.configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    context.run_migrations()
