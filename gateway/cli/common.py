"""What every command group shares: exit codes and ``fail``, the console, the database, and announcing a change.

Exit codes (click's own convention, which typer follows: it exits 2 on a usage error before a command runs):

* ``EXIT_FAILED`` (1): the operation failed: not found, refused, already exists, a gate not passed;
* ``EXIT_USAGE`` (2): the command was given something it cannot use: a bad option value, a bad config or input file.

``gateway eval`` keeps its documented result codes on top of these (0 passed, 1 failed cases or a regression,
2 an error: a bad suite, bad usage, a run not found), see docs/evals.md.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from gateway.bus import announce as announce_on_bus
from gateway.config import load_config
from gateway.config.loader import load_database_url
from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.errors import ConfigError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FAILED = 1
EXIT_USAGE = 2
#: Piped output (scripts, CI logs, tests) gets lines this wide rather than tables folded to 80 columns.
PIPED_WIDTH = 240

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Gateway config; its general_settings.database_url is used."),
]
DatabaseOption = Annotated[
    str | None,
    typer.Option("--database-url", help="Database URL (overrides the config; default: DATABASE_URL or SQLite)."),
]


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def console() -> Console:
    """The console every command prints rich output to (tables, diffs, progress)."""
    from rich.console import Console  # noqa: PLC0415 - rich (2 MB) loads for the commands that print, not for serve

    return Console(highlight=False, width=None if sys.stdout.isatty() else PIPED_WIDTH)


def load(config: Path | None) -> GatewayConfig | None:
    """The config named by ``--config``, if any; a bad one is a usage error."""
    if config is None:
        return None
    try:
        return load_config(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


@contextmanager
def database(
    config: Path | None, database_url: str | None, *, migrate: bool = True, whole_config: bool = True
) -> Iterator[Database]:
    """The database named by ``--database-url``, else ``DATABASE_URL``, else the config's, else ./gateway.db;
    brought up to date (``migrate``), and closed when the block ends. ``whole_config=False`` reads only the
    config's ``database_url``: a command that only reads the database does not need the provider keys."""
    if database_url is None and config is not None and not whole_config:
        database_url = _database_url_only(config)
        config = None  # read: the rest of it is not needed
    opened = _open(config, database_url, migrate=migrate)
    try:
        yield opened
    finally:
        opened.dispose()


def _database_url_only(config: Path) -> str | None:
    try:
        return os.environ.get("DATABASE_URL") or load_database_url(config)
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


def _open(config: Path | None, database_url: str | None, *, migrate: bool) -> Database:
    url = database_url or os.environ.get("DATABASE_URL")
    loaded = load(config) if url is None else None
    if loaded is not None and loaded.general_settings.database_url is not None:
        url = loaded.general_settings.database_url.get_secret_value()
    opened = Database(url)
    if migrate:
        opened.upgrade()
    return opened


def announce(config: Path | None, database: Database, topic: str, payload: str = "") -> None:
    """Tell the running gateways of this config and database about a change (``gateway.bus.announce``), and say
    on stderr how they were told."""
    told = announce_on_bus(load(config), database.url, topic, payload)
    if told == "redis":
        typer.echo("running gateways were told through Redis", err=True)
    elif told == "signal":
        typer.echo("running gateways on this database were told", err=True)
    else:
        typer.echo("running gateways pick this up on their next periodic refresh", err=True)
