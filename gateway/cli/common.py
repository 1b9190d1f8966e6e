"""What several commands share: finding the database, and a rich console."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from gateway.db import Database
from gateway.errors import ConfigError

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Gateway config; its general_settings.database_url is used."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (overrides the config; default: DATABASE_URL or SQLite)."),
]


def open_database(config: Path | None, database_url: str | None, *, migrate: bool = True) -> Database:
    """The database named by ``--database-url``, else ``DATABASE_URL``, else the config's, else ./gateway.db."""
    url = database_url or os.environ.get("DATABASE_URL")
    if url is None and config is not None:
        from gateway.config import load_config

        try:
            loaded = load_config(config)
        except ConfigError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from exc
        if loaded.general_settings.database_url is not None:
            url = loaded.general_settings.database_url.get_secret_value()
    database = Database(url)
    if migrate:
        database.upgrade()
    return database
