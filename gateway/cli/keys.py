"""``gateway keys ...`` and ``gateway teams ...``: manage virtual keys and teams in the database directly.

Every change is announced to the running gateways on the change bus (``gateway.cli.common.announce``): through
Redis when the config names one, else through the SQLite file's notices, and they refuse a revoked key at once.
On PostgreSQL without Redis they see it on their key cache's next poll of the database (0.5 s by default).
Exit codes: 1 when the operation fails (no such key, a name taken), 2 for a bad option value.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from rich.table import Table

from gateway.bus import KEYS
from gateway.cli.common import EXIT_USAGE, ConfigOption, DatabaseOption, announce, console, database, fail
from gateway.keys import store
from gateway.keys.models import KeySpec, TeamSpec, TeamUpdate, key_view, team_view
from gateway.keys.store import KeyStoreError

keys_app = typer.Typer(no_args_is_help=True, help="Virtual keys: create, list, revoke, rotate.")
teams_app = typer.Typer(no_args_is_help=True, help="Teams: budgets and limits shared by their keys.")
T = TypeVar("T")

ModelsOption = Annotated[str | None, typer.Option("--models", help="Comma-separated model names it may use.")]
BudgetOption = Annotated[float | None, typer.Option("--budget", help="Budget in USD per period.", min=0)]
PeriodOption = Annotated[str, typer.Option("--budget-period", help="daily, weekly or monthly (UTC calendar).")]
RpmOption = Annotated[int | None, typer.Option("--rpm", help="Requests per minute.", min=0)]
TpmOption = Annotated[int | None, typer.Option("--tpm", help="Tokens per minute.", min=0)]
GuardrailsOption = Annotated[
    str | None, typer.Option("--guardrails", help="Comma-separated guardrail policies every request gets.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@keys_app.command("create")
def create_key(
    name: Annotated[str, typer.Option("--name", help="A name to find the key by.")],
    team: Annotated[str | None, typer.Option("--team", help="Team id or name.")] = None,
    models: ModelsOption = None,
    budget: BudgetOption = None,
    budget_period: PeriodOption = "monthly",
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    expires: Annotated[str | None, typer.Option("--expires", help="30d, 12h, 2w... or an ISO date.")] = None,
    store_content: Annotated[bool, typer.Option("--store-content", help="Log prompt and response text.")] = False,
    guardrails: GuardrailsOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a key and print it once (it is stored hashed and cannot be shown again)."""
    spec = _spec(
        KeySpec,
        name=name, team=team, models=_split(models), budget_usd=budget, budget_period=budget_period,
        rpm=rpm, tpm=tpm, expires=expires, store_content=store_content, guardrails=_split(guardrails),
    )
    row, secret = _run(config, database_url, store.create_key, spec)
    typer.echo(secret)
    typer.echo(f"created key {row.id} ({row.name}); store it now, it is not shown again", err=True)


@keys_app.command("list")
def list_keys(config: ConfigOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List keys: display prefix, team, limits, status. Never a secret."""
    views = [key_view(row, team) for row, team in _run(config, database_url, store.list_keys)]
    if as_json:
        typer.echo(json.dumps(views, indent=2))
        return
    columns = ["id", "name", "key_prefix", "status", "team", "models", "budget", "rpm", "tpm", "expires_at"]
    _table("Virtual keys", columns, [{**v, "budget": _budget(v)} for v in views])


@keys_app.command("revoke")
def revoke_key(
    ref: Annotated[str, typer.Argument(help="Key id, or the name of an active key.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Revoke a key: running gateways refuse it within a second."""
    row = _run(config, database_url, store.revoke_key, ref)
    typer.echo(f"revoked key {row.id} ({row.name})")


@keys_app.command("rotate")
def rotate_key(
    ref: Annotated[str, typer.Argument(help="Key id, or the name of an active key.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Give a key a new secret (printed once); the old secret stops working. Limits and spend stay."""
    row, secret = _run(config, database_url, store.rotate_key, ref)
    typer.echo(secret)
    typer.echo(f"rotated key {row.id} ({row.name}); the old secret no longer works", err=True)


@teams_app.command("create")
def create_team(
    name: Annotated[str, typer.Option("--name", help="Team name (unique).")],
    models: ModelsOption = None,
    budget: BudgetOption = None,
    budget_period: PeriodOption = "monthly",
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    guardrails: GuardrailsOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Create a team; its budget and limits apply to all its keys together."""
    spec = _spec(
        TeamSpec, name=name, models=_split(models), budget_usd=budget, budget_period=budget_period, rpm=rpm, tpm=tpm,
        guardrails=_split(guardrails),
    )
    row = _run(config, database_url, store.create_team, spec)
    typer.echo(f"created team {row.id} ({row.name})")


@teams_app.command("list")
def list_teams(config: ConfigOption = None, database_url: DatabaseOption = None, as_json: JsonOption = False) -> None:
    """List teams and their limits."""
    views = [team_view(row) for row in _run(config, database_url, store.list_teams)]
    if as_json:
        typer.echo(json.dumps(views, indent=2))
        return
    _table("Teams", ["id", "name", "models", "budget", "rpm", "tpm"], [{**v, "budget": _budget(v)} for v in views])


@teams_app.command("update")
def update_team(
    ref: Annotated[str, typer.Argument(help="Team id or name.")],
    name: Annotated[str | None, typer.Option("--name", help="New name.")] = None,
    models: ModelsOption = None,
    budget: BudgetOption = None,
    budget_period: Annotated[str | None, typer.Option("--budget-period", help="daily, weekly or monthly.")] = None,
    rpm: RpmOption = None,
    tpm: TpmOption = None,
    guardrails: GuardrailsOption = None,
    clear: Annotated[
        list[str] | None,
        typer.Option("--clear", help="Remove a limit: models, budget, rpm, tpm or guardrails (repeatable)."),
    ] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Change a team's name or limits; only the options given change."""
    given: dict[str, Any] = {
        "name": name, "models": _split(models), "budget_usd": budget, "budget_period": budget_period,
        "rpm": rpm, "tpm": tpm, "guardrails": _split(guardrails),
    }
    changes = {field: value for field, value in given.items() if value is not None}
    for field in clear or []:
        if field not in ("models", "budget", "rpm", "tpm", "guardrails"):
            fail(f"--clear takes models, budget, rpm, tpm or guardrails, not {field!r}", EXIT_USAGE)
        changes["budget_usd" if field == "budget" else field] = None
    if not changes:
        fail("nothing to change; give at least one option", EXIT_USAGE)
    row = _run(config, database_url, store.update_team, ref, _spec(TeamUpdate, **changes))
    typer.echo(f"updated team {row.id} ({row.name})")


def _run(config: Path | None, database_url: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Run a store operation, turn its errors into a message and exit code 1, and tell running gateways."""
    with database(config, database_url) as opened:
        try:
            result = fn(opened, *args)
        except (KeyStoreError, ValueError) as exc:
            fail(str(exc))
        if fn.__name__ not in ("list_keys", "list_teams"):
            announce(config, opened, KEYS)
    return result


def _spec(model: type[T], **values: Any) -> T:
    """The options as a validated spec; a value it refuses is a usage error (exit 2), as click's own checks are."""
    try:
        return model.model_validate(values)  # type: ignore[attr-defined, no-any-return]
    except ValidationError as exc:
        first = exc.errors()[0]
        fail(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}", EXIT_USAGE)


def _split(models: str | None) -> list[str] | None:
    return [m.strip() for m in models.split(",") if m.strip()] if models is not None else None


def _budget(view: dict[str, Any]) -> str:
    return f"${view['budget_usd']:g}/{view['budget_period']}" if view["budget_usd"] is not None else ""


def _table(title: str, columns: list[str], rows: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*[_cell(row.get(column)) for column in columns])
    console().print(table)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(value)
    return str(value)
