"""Durable state: SQLModel tables over SQLAlchemy, SQLite by default and PostgreSQL by URL, migrated by Alembic.

The gateway talks to the database with SQLAlchemy's synchronous engine, from background tasks and admin
endpoints (through ``asyncio.to_thread``) and from the CLI: never on the request's hot path.
"""

from gateway.db.engine import DEFAULT_DATABASE_URL, Database, normalize_url

__all__ = ["DEFAULT_DATABASE_URL", "Database", "normalize_url"]
