"""``gateway costs report``: what the logged requests cost, grouped as asked, from the same query as
``GET /admin/costs`` (``gateway.reports``), so both print the same numbers.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

import typer

from gateway.cli.common import EXIT_USAGE, ConfigOption, DatabaseOption, console, database, fail
from gateway.errors import GatewayError
from gateway.reports import ReportQuery, parse_group_by, parse_range, run_report
from gateway.reports.render import report_csv, report_dict, report_table

costs_app = typer.Typer(no_args_is_help=True, help="Cost reports from the request log.")

Format = Literal["table", "json", "csv"]


@costs_app.command("report")
def report(
    since: Annotated[
        str, typer.Option("--since", help="Start: 7d (the last 7 UTC days), 12h, 2026-11-01 or an ISO time.")
    ] = "7d",
    until: Annotated[
        str | None,
        typer.Option("--until", help="End (exclusive; a plain date includes that day). Default: the end of today."),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", help="Group by model, key, team, provider, prompt, tag or day (repeat, or a,b)."),
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="table, json or csv.")] = "table",
    key: Annotated[str | None, typer.Option("--key", help="Only this key (id or name).")] = None,
    team: Annotated[str | None, typer.Option("--team", help="Only this team (id or name).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this model name.")] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """Requests, tokens, cost, cache savings, error rate and p50/p95 latency, with totals.

    Only the database is read: with ``--config``, only its ``database_url`` (provider keys need not be set)."""
    try:
        query = ReportQuery(
            range=parse_range(since, until),
            group_by=parse_group_by(by) if by else ("model",),
            key_id=key,
            team_id=team,
            model=model,
        )
    except GatewayError as exc:
        fail(exc.message, EXIT_USAGE)
    with database(config, database_url, whole_config=False) as db:
        try:
            result = run_report(db, query)
        except GatewayError as exc:  # a key or team that names nothing
            fail(exc.message, EXIT_USAGE)
    if output == "json":
        typer.echo(json.dumps(report_dict(result), indent=2))
    elif output == "csv":
        typer.echo(report_csv(result), nl=False)
    else:
        console().print(report_table(result))
