"""``gateway prompts ...``: push prompt files, inspect versions, move labels, compare variants.

Every command works on the database directly (``--config`` / ``--database-url``). Pushes and label moves are then
announced to the running gateways on the change bus (``gateway.cli.common.announce``): through Redis when the config
names one, else through the SQLite file's notices, and they reload at once (on PostgreSQL without Redis, on their
periodic check). "Who" in the audit log is ``--actor``, by default the login name. Exit codes: 1 when the operation
fails (unknown prompt, a refused move), 2 for an invalid prompt file or reference.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, TypeVar

import orjson
import typer
import yaml
from rich import box
from rich.table import Table
from rich.text import Text

from gateway.bus import PROMPTS
from gateway.cli.common import EXIT_USAGE, ConfigOption, DatabaseOption, announce, console, database, fail
from gateway.db.audit import utcnow
from gateway.prompts.compare import as_dict
from gateway.prompts.compare import compare as do_compare
from gateway.prompts.diff import diff_versions
from gateway.prompts.errors import PromptError, PromptFileError
from gateway.prompts.reference import parse_reference
from gateway.prompts.registry import get_version, list_prompts
from gateway.prompts.registry import history as read_history
from gateway.prompts.registry import push as push_specs
from gateway.prompts.release import Move
from gateway.prompts.release import promote as do_promote
from gateway.prompts.release import release as do_release
from gateway.prompts.release import rollback as do_rollback

prompts_app = typer.Typer(no_args_is_help=True, help="Versioned prompts: push, release, roll back, compare.")
T = TypeVar("T")


def _default_actor() -> str:
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


ActorOption = Annotated[str | None, typer.Option("--actor", help="Who does this, for the audit log (default: $USER).")]
LabelOption = Annotated[str, typer.Option("--label", "-l", help="The label to move.")]
ForceOption = Annotated[bool, typer.Option("--force", help="Override a failed eval gate (written to the audit log).")]


def _run(action: Callable[[], T]) -> T:
    """Run ``action``; a prompt error becomes a message and exit code 1 (2 for an invalid file or reference)."""
    try:
        return action()
    except (PromptFileError, ValueError) as exc:
        fail(str(exc), EXIT_USAGE)
    except PromptError as exc:
        fail(str(exc))


@prompts_app.command()
def push(
    directory: Annotated[Path, typer.Argument(help="Folder of prompt files (*.yaml).")] = Path("prompts"),
    actor: ActorOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Sync the prompt files into the registry and print what changed (all files, or none if one is invalid)."""
    from gateway.prompts.loader import load_dir  # noqa: PLC0415 - Jinja2

    specs = _run(lambda: load_dir(directory))
    with database(config, database_url) as db:
        results = _run(lambda: push_specs(db, [(str(p), s) for p, s in specs], actor or _default_actor()))
    out = console()
    for result in results:
        if result.status == "unchanged":
            out.print(f"  {result.name}: unchanged (v{result.version})", style="dim")
        elif result.status == "reverted":
            out.print(f"[yellow]~[/] {result.name}: same as v{result.version}; latest v{result.previous} -> "
                          f"v{result.version}")
        else:
            origin = f" (was v{result.previous})" if result.previous else ""
            out.print(f"[green]+[/] {result.name}: {result.status} v{result.version}{origin}")
    changed = [r for r in results if r.status != "unchanged"]
    out.print(f"{len(results)} prompts, {len(changed)} changed")
    if changed:
        announce(config, db, PROMPTS, ",".join(sorted({r.name for r in changed})))


@prompts_app.command("list")
def list_(config: ConfigOption = None, database_url: DatabaseOption = None) -> None:
    """Every prompt, its number of versions and its labels."""
    with database(config, database_url) as db:
        summaries = list_prompts(db)
    table = Table("prompt", "versions", "labels")
    for summary in summaries:
        labels = ", ".join(
            f"{info.label}=v{info.version}"
            + (f" (canary v{info.canary_version} {info.canary_percent:g}%)" if info.canary_version else "")
            for info in summary.labels
        )
        table.add_row(summary.name, str(summary.versions), labels)
    console().print(table)


@prompts_app.command()
def show(
    reference: Annotated[str, typer.Argument(help="NAME, NAME@VERSION or NAME@LABEL (default: production).")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Print one version: its labels, hash and content."""
    ref = _run(lambda: parse_reference(reference))
    with database(config, database_url) as db:
        info = _run(lambda: get_version(db, ref))
    out = console()
    out.print(f"[bold]{info.name}@{info.version}[/]  labels: {', '.join(info.labels) or '-'}")
    out.print(f"hash {info.content_hash}  pushed {info.created_at:%Y-%m-%d %H:%M:%S} by {info.created_by}"
                  + (f" from {info.source}" if info.source else ""))
    typer.echo(yaml.safe_dump({"name": info.name, **info.content}, sort_keys=False, allow_unicode=True, width=10**6))


@prompts_app.command()
def diff(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    a: Annotated[str, typer.Argument(help="A version number or label.")],
    b: Annotated[str, typer.Argument(help="Another version number or label.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Coloured diff of two versions' messages and parameters."""
    with database(config, database_url) as db:
        old = _run(lambda: get_version(db, parse_reference(f"{name}@{a}")))
        new = _run(lambda: get_version(db, parse_reference(f"{name}@{b}")))
    parts = diff_versions(name, old.version, old.content, new.version, new.content)
    out = console()
    if not parts:
        out.print(f"{name}@{old.version} and {name}@{new.version} are the same")
    for part in parts:
        out.print(f"[bold]{part.title}[/]")
        for line in part.lines:
            style = "bold" if line.startswith(("---", "+++")) else "green" if line.startswith("+") else (
                "red" if line.startswith("-") else "cyan" if line.startswith("@@") else None)
            out.print(Text(line, style=style or ""))


@prompts_app.command()
def release(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    version: Annotated[int, typer.Option("--version", "-v", help="The version to release.")],
    label: LabelOption = "production",
    canary: Annotated[float | None, typer.Option(help="Send only this % of the label's traffic to it.")] = None,
    force: ForceOption = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Point a label at a version, or start a canary with --canary PERCENT."""
    with database(config, database_url) as db:
        move = _run(lambda: do_release(db, name, version, label=label, canary=canary, force=force,
                                       actor=actor or _default_actor()))
    _report(move)
    if move.changed:
        announce(config, db, PROMPTS, name)


@prompts_app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label: LabelOption = "production",
    force: ForceOption = False,
    actor: ActorOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Make the label's canary version its version, for all traffic."""
    with database(config, database_url) as db:
        move = _run(lambda: do_promote(db, name, label=label, force=force, actor=actor or _default_actor()))
    _report(move)
    announce(config, db, PROMPTS, name)


@prompts_app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label: LabelOption = "production",
    actor: ActorOption = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """End the label's canary at once, or else point the label back at its previous version."""
    with database(config, database_url) as db:
        move = _run(lambda: do_rollback(db, name, label=label, actor=actor or _default_actor()))
    _report(move)
    announce(config, db, PROMPTS, name)


def _report(move: object) -> None:
    assert isinstance(move, Move)
    out = console()
    out.print(_describe_move(move))
    if move.detail.get("forced"):
        out.print(f"[yellow]eval gate overridden with --force[/]: {move.detail.get('gate')}")
    elif move.detail.get("gate_passed"):
        out.print(f"eval gate passed: {move.detail.get('gate')}")


def _describe_move(move: Any) -> str:
    where, old, new = f"{move.name}@{move.label}", move.from_version, move.to_version
    if move.action == "none":
        return f"{where} already is v{new}; nothing changed"
    if move.action == "prompt.canary":
        return f"{where}: canary v{new} at {move.canary_percent:g}% (main v{move.detail.get('main_version')})"
    if move.action == "prompt.promote":
        return f"{where}: canary promoted, v{old} -> v{new}"
    if move.action == "prompt.rollback":
        return f"{where}: rolled back, v{old} -> v{new}"
    if move.action == "prompt.canary_end":
        return f"{where}: canary v{old} ended; all traffic on v{move.detail.get('main_version')}"
    return f"{where}: v{old or '-'} -> v{new}"


@prompts_app.command()
def history(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Every label move of the prompt: when, who, what, from, to."""
    with database(config, database_url) as db:
        entries = _run(lambda: read_history(db, name))
    table = Table("when (UTC)", "who", "action", "label", "from", "to", "detail")
    for entry in entries:
        detail = _history_detail(entry.detail)
        table.add_row(f"{entry.created_at:%Y-%m-%d %H:%M:%S}", entry.actor, entry.action.removeprefix("prompt."),
                      entry.target.rpartition("@")[2], entry.from_value or "-", entry.to_value or "-", detail)
    console().print(table)


def _history_detail(detail: dict[str, Any]) -> str:
    parts = []
    if detail.get("forced"):
        parts.append("FORCED past the eval gate")
    if "canary_percent" in detail:
        parts.append(f"canary {detail['canary_percent']:g}%")
    if detail.get("ended_canary"):
        parts.append(f"ended canary v{detail['ended_canary']['version']}")
    if "gate" in detail:
        parts.append(f"gate: {detail['gate']}")
    if "status" in detail:
        parts.append(str(detail["status"]))
    return "; ".join(parts)


@prompts_app.command()
def compare(
    name: Annotated[str, typer.Argument(help="Prompt name.")],
    label: LabelOption = "production",
    since_hours: Annotated[float | None, typer.Option("--since-hours", help="Window (default: since the canary "
                                                       "started, else 7 days).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Per variant: requests, cost per request, latency, error rate, eval score; and a significance test."""
    since: datetime | None = utcnow() - timedelta(hours=since_hours) if since_hours else None
    with database(config, database_url) as db:
        result = _run(lambda: do_compare(db, name, label=label, since=since))
    if as_json:
        typer.echo(orjson.dumps(as_dict(result), option=orjson.OPT_INDENT_2).decode())
        return
    out = console()
    out.print(f"[bold]{name}@{label}[/] since {result.since:%Y-%m-%d %H:%M:%S} UTC")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for header in ("version", "role", "requests", "cost/req", "latency", "error rate", "eval"):
        table.add_column(header, no_wrap=True, justify="left" if header in ("version", "role") else "right")
    for v in result.variants:
        score = "-" if v.eval_score is None else f"{v.eval_score:.2f}" + (" pass" if v.eval_passed else " fail")
        table.add_row(f"v{v.version}", v.role, str(v.requests), f"${v.cost_per_request:.6f}",
                      f"{v.latency_ms:.0f} ms", f"{v.error_rate:.2%} ({v.errors})", score)
    out.print(table)
    for test in result.tests:
        verdict = "[red]significant[/]" if test.significant else "not significant"
        out.print(f"error rate v{test.version} vs v{test.against}: p = {test.p_value:.4g} ({verdict}; "
                      f"{test.test})")
    if not result.variants:
        out.print("no requests in the window")
