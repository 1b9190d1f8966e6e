"""``gateway eval ...``: run suites, compare runs, list a suite's history, validate suite files.

Exit codes: 0 the suite passed; 1 below its threshold, or a regression against the baseline; 2 a bad suite or
bad usage (the message names the file, the case and the field).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Annotated, NoReturn

import orjson
import typer

from gateway.cli.common import EXIT_USAGE, ConfigOption, DatabaseOption, console, database, fail
from gateway.evals.compare import compare
from gateway.evals.console import print_comparison, print_history, print_report, progress_bar
from gateway.evals.model import SuiteError
from gateway.evals.reports.junit import junit_xml
from gateway.evals.reports.markdown import markdown as markdown_text
from gateway.evals.store import RunNotFound, find_run
from gateway.evals.store import history as runs_of

eval_app = typer.Typer(no_args_is_help=True, help="Offline eval suites: run, compare, history.")

SuiteArgument = Annotated[Path, typer.Argument(help="Suite file, e.g. evals/support-reply.yaml.")]


def _error(message: str) -> NoReturn:
    """Exit 2: in docs/evals.md's codes, an error (bad suite, bad usage, a run not found), not a failed result."""
    fail(message, EXIT_USAGE)


@eval_app.command("run")
def run(
    suite_file: SuiteArgument,
    prompt_version: Annotated[int | None, typer.Option("--prompt-version", min=1, help="Version to test.")] = None,
    label: Annotated[str | None, typer.Option("--label", help="Label to test (default: latest).")] = None,
    gateway: Annotated[str | None, typer.Option("--gateway", envvar="GATEWAY_URL",
                                                help="URL of a running gateway.")] = None,
    api_key: Annotated[str | None, typer.Option("--api-key", envvar="GATEWAY_API_KEY",
                                                help="Key for the gateway.")] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=256, help="Cases in flight at once.")] = 8,
    repeat: Annotated[int, typer.Option(min=1, help="Run every case this many times.")] = 1,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write a JUnit XML report.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write a JSON report.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write an HTML report.")] = None,
    markdown: Annotated[Path | None, typer.Option("--markdown", help="Write a markdown summary.")] = None,
    baseline: Annotated[str | None, typer.Option("--baseline", help="Label, version or run id to compare with.")]
    = None,
    max_drop: Annotated[float, typer.Option("--max-drop", min=0, max=1,
                                            help="Allowed pass-rate drop below the baseline.")] = 0.05,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Do not use the local run cache.")] = False,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where the run cache lives.")] = Path(".eval-cache"),
    retries: Annotated[int, typer.Option(min=0, max=10, help="Retries of transient errors per call.")] = 3,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds per call.")] = 120.0,
) -> None:
    """Run a suite on a prompt version through the gateway; store the run; write reports."""
    from gateway.evals.loader import load_suite  # noqa: PLC0415 - Jinja2
    from gateway.evals.session import RunSettings, UsageProblem, execute  # noqa: PLC0415 - httpx loads only for eval run

    if prompt_version is not None and label is not None:
        _error("give --prompt-version or --label, not both")
    if gateway is None and config is None:
        _error("say where the gateway is: --gateway URL (or GATEWAY_URL), or --config FILE to start it here")
    try:
        suite = load_suite(suite_file)
    except SuiteError as exc:
        _error(str(exc))
    settings = RunSettings(
        gateway_url=gateway, config=config, api_key=api_key, concurrency=concurrency, repeat=repeat,
        cache_dir=None if no_cache else cache_dir, retries=retries, timeout=timeout, baseline=baseline,
        max_drop=max_drop,
    )
    out = console()

    def progress(title: str, total: int):  # type: ignore[no-untyped-def]
        return progress_bar(out, title, total)

    candidate = (prompt_version, None if prompt_version is not None else (label or "latest"))
    with database(config, database_url) as db:
        try:
            outcome = asyncio.run(execute(suite, db, settings, candidate, progress))
        except UsageProblem as exc:
            _error(str(exc))
    _write_reports(outcome.report, junit=junit, json_out=json_out, html=html, markdown=markdown)
    if outcome.comparison is not None:
        print_comparison(out, outcome.comparison)
    print_report(out, outcome.report)
    raise typer.Exit(0 if outcome.passed else 1)


def _write_reports(report: dict[str, object], **paths: Path | None) -> None:
    from gateway.evals.reports.html import html_page  # noqa: PLC0415 - Jinja2

    writers = {
        "junit": junit_xml,
        "json_out": _json_text,
        "html": html_page,
        "markdown": markdown_text,
    }
    for name, path in paths.items():
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(writers[name](report), encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and paths.get("markdown") is None:
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown_text(report))


def _json_text(report: dict[str, object]) -> str:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode() + "\n"


@eval_app.command("compare")
def compare_runs(
    suite: Annotated[str | None, typer.Argument(help="Suite name or file (not needed with two run ids).")] = None,
    baseline: Annotated[str, typer.Option("--baseline", help="Label, version or run id.")] = "production",
    candidate: Annotated[str, typer.Option("--candidate", help="Version, label or run id.")] = "latest",
    max_drop: Annotated[float, typer.Option("--max-drop", min=0, max=1,
                                            help="Allowed pass-rate drop; more exits 1.")] = 0.05,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the comparison as JSON.")] = None,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """What changed between two stored runs: newly failing, newly passing, score delta per metric."""
    name, prompt = _suite_name(suite)
    with database(config, database_url) as db:
        try:
            before = find_run(db, name, baseline, prompt)
            after = find_run(db, name, candidate, prompt)
        except RunNotFound as exc:
            _error(str(exc))
    comparison = compare(before, after)
    print_comparison(console(), comparison)
    if json_out is not None:
        json_out.write_text(json.dumps(comparison.as_dict(), indent=2, default=str) + "\n")
    if comparison.regressed(max_drop):
        typer.echo(f"regression: the pass rate dropped by {-comparison.pass_rate_delta:.1%} "
                   f"(more than {max_drop:.1%})", err=True)
        raise typer.Exit(1)


@eval_app.command("history")
def history(
    suite: Annotated[str, typer.Argument(help="Suite name or file.")],
    limit: Annotated[int, typer.Option(min=1, help="How many runs, newest first.")] = 20,
    config: ConfigOption = None,
    database_url: DatabaseOption = None,
) -> None:
    """List the stored runs of a suite, newest first."""
    name, _ = _suite_name(suite)
    if name is None:
        _error("name the suite")
    with database(config, database_url) as db:
        runs = runs_of(db, name, limit)
    if not runs:
        typer.echo(f"no stored runs of suite {name}")
        return
    print_history(console(), name, runs)


@eval_app.command("validate")
def validate(files: Annotated[list[Path], typer.Argument(help="Suite files to check.")]) -> None:
    """Check suite files without running them (exit 2 on the first bad one)."""
    from gateway.evals.loader import load_suite  # noqa: PLC0415 - Jinja2

    for path in files:
        try:
            suite = load_suite(path)
        except SuiteError as exc:
            _error(str(exc))
        typer.echo(f"{path}: ok ({len(suite.cases)} cases, prompt {suite.prompt})")


def _suite_name(suite: str | None) -> tuple[str | None, str | None]:
    """(suite name, prompt name) from a suite name or a suite file."""
    if suite is None:
        return None, None
    path = Path(suite)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        from gateway.evals.loader import load_suite  # noqa: PLC0415 - Jinja2

        try:
            loaded = load_suite(path)
        except SuiteError as exc:
            _error(str(exc))
        return loaded.name, loaded.prompt
    return suite, None
