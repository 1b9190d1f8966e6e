"""``gateway guardrails``: list the policies a config loads, try text against them, count findings.

    gateway guardrails list -c config.yaml
    gateway guardrails test "call me at +1 415 555 2671" -c config.yaml [--policy pii] [--output]
    gateway guardrails test prompt.txt -c config.yaml            # a file's text
    gateway guardrails report -c config.yaml --since 7d --by guardrail,action

``test`` exits 1 when a guardrail blocks the text, so a CI step can try a policy on known-bad samples.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer

from gateway.cli.common import EXIT_FAILED, EXIT_USAGE, ConfigOption, DatabaseOption, console, database, fail, load
from gateway.errors import ConfigError, GatewayError
from gateway.guardrails.detectors.registry import build_detector
from gateway.guardrails.manage import describe, report, try_text
from gateway.guardrails.policy import Policy, load_policies
from gateway.localmodels import LocalModels
from gateway.reports.timerange import parse_range

guardrails_app = typer.Typer(no_args_is_help=True, help="Guardrail policies: list, try, report.")
JsonOption = Annotated[bool, typer.Option("--json", help="JSON instead of a table.")]


def _policies(config: Path | None) -> dict[str, Policy]:
    loaded = load(config)
    if loaded is None:
        fail("give the gateway config with --config (its gateway.guardrails section names the policies)", EXIT_USAGE)
    models = LocalModels()
    try:
        return load_policies(loaded.gateway.guardrails, lambda s: build_detector(s.type, s.options, models))
    except ConfigError as exc:
        fail(str(exc), EXIT_USAGE)


@guardrails_app.command("list")
def list_policies(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The policies the config loads, and their guardrails."""
    described = describe(_policies(config))
    if as_json:
        typer.echo(orjson.dumps(described, option=orjson.OPT_INDENT_2).decode())
        return
    out = console()
    for policy in described:
        out.print(f"[bold]{policy['name']}[/bold]  ({policy['source']})")
        for g in policy["guardrails"]:
            fail_mode = "fail-open" if g["fail_open"] else "fail-closed"
            out.print(
                f"  {g['side']:<6} {g['name']:<20} {g['detector']:<18} {g['action']:<6} "
                f"{g['timeout_ms']} ms {fail_mode}"
            )


@guardrails_app.command("test")
def test_text(
    text: Annotated[str, typer.Argument(help="The text, or a file holding it.")],
    policy: Annotated[list[str] | None, typer.Option("--policy", "-p", help="Only this policy (repeat).")] = None,
    output: Annotated[bool, typer.Option("--output", help="Run the output guardrails (an answer's checks).")] = False,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run the guardrails over TEXT and print what they find and do (exit 1 if one blocks)."""
    path = Path(text)
    if len(text) < 4096 and path.is_file():
        text = path.read_text(encoding="utf-8")
    policies = _policies(config)
    try:
        trial = asyncio.run(try_text(policies, policy or [], text, "output" if output else "input"))
    except GatewayError as exc:
        fail(exc.message, EXIT_USAGE)
    if as_json:
        typer.echo(orjson.dumps(trial.as_dict(), option=orjson.OPT_INDENT_2).decode())
    else:
        out = console()
        for f in trial.findings:
            where = f"at {f['span'][0]}-{f['span'][1]}" if f["span"] else "whole text"
            out.print(f"{f['policy']}/{f['guardrail']}: {f['entity']} ({where}) -> {f['action']}")
        if not trial.findings:
            out.print("no findings")
        if trial.error:
            out.print(f"[red]error:[/red] {trial.error}")
        elif trial.blocked_by:
            out.print(f"[red]blocked[/red] by {trial.blocked_by}")
        else:
            out.print("upstream would get:", trial.text, markup=False)
    if trial.blocked_by or trial.error:
        raise typer.Exit(EXIT_FAILED)


@guardrails_app.command("report")
def findings_report(
    since: Annotated[str, typer.Option("--since", help="Start: 7d, 12h, 2026-11-01 or an ISO time.")] = "7d",
    by: Annotated[str, typer.Option("--by", help="guardrail, policy, action, entity, stage, key, team, prompt")] = (
        "guardrail,action"
    ),
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count the findings in the request log: blocks, redactions, masks by guardrail, key, team, prompt..."""
    group_by = [d.strip() for d in by.split(",") if d.strip()]
    try:
        start = parse_range(since, None).start
        with database(config, database_url) as db:
            rows = report(db, start, group_by)
    except (ValueError, GatewayError) as exc:
        fail(getattr(exc, "message", str(exc)), EXIT_USAGE)
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    out = console()
    for row in rows:
        out.print("  ".join(f"{k}={v}" for k, v in row.items()), markup=False)
    if not rows:
        out.print(f"no findings since {start.isoformat()}")
