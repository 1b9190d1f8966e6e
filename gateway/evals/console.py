"""What ``gateway eval`` prints: a progress bar while the cases run, then the results table, the metrics, the
failing cases with their reasons, and the comparison with the baseline."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from gateway.db.evals import EvalRun
from gateway.evals.compare import Comparison
from gateway.evals.results import CaseResult

_MAX_FAILING = 30


@contextmanager
def progress_bar(console: Console, title: str, total: int) -> Iterator[Any]:
    """Yields a callback for each finished case; the bar shows passed / failed / errors as it goes."""
    counts = {"pass": 0, "fail": 0, "error": 0}
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.fields[tally]}"))
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        task = progress.add_task(title, total=total, tally="")

        def advance(result: CaseResult) -> None:
            counts[result.status] += 1
            tally = f"[green]{counts['pass']} ok[/] [red]{counts['fail']} failed[/] [yellow]{counts['error']} errors[/]"
            progress.update(task, advance=1, tally=tally)

        yield advance


def print_report(console: Console, report: dict[str, Any]) -> None:
    s = report["summary"]
    threshold = report["threshold"]
    table = Table(title=f"{report['suite']} on {report['target']}", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column(justify="right")
    need = f"threshold {threshold['pass_rate']:.0%}"
    table.add_row("pass rate", f"{_rate(s['pass_rate'], report['threshold_met'])} ({need})")
    need_score = f" (threshold {threshold['mean_score']})" if "mean_score" in threshold else ""
    table.add_row("mean score", f"{s['mean_score']:.3f}{need_score}")
    table.add_row("cases", f"{s['total']}: {s['passed']} passed, {s['failed']} failed, {s['errors']} errors")
    table.add_row("cost", "n/a" if s["cost_usd"] is None else f"${s['cost_usd']:.6f}")
    table.add_row("mean latency", "n/a" if s["mean_latency_ms"] is None else f"{s['mean_latency_ms']:.0f} ms")
    table.add_row("time", f"{report['duration_s']:.2f} s, {s['cached']} answers from the run cache")
    console.print(table)
    if s["metrics"]:
        metrics = Table("metric", "mean score", title="Scores per metric", title_justify="left")
        for name, score in s["metrics"].items():
            metrics.add_row(name, f"{score:.3f}")
        console.print(metrics)
    failing = [c for c in report["cases"] if c["status"] != "pass"]
    if failing:
        cases = Table("case", "status", "reason", title=f"Failing cases ({len(failing)})", title_justify="left")
        for case in failing[:_MAX_FAILING]:
            style = "yellow" if case["status"] == "error" else "red"
            cases.add_row(case["id"], f"[{style}]{case['status']}[/]", case["reason"])
        if len(failing) > _MAX_FAILING:
            cases.add_row("…", "", f"{len(failing) - _MAX_FAILING} more in the reports")
        console.print(cases)
    verdict = "[green]PASSED[/]" if report["passed"] else "[red]FAILED[/]"
    why = ""
    if not report["threshold_met"]:
        why = " (below the threshold)"
    elif report["regressed"]:
        why = f" (pass rate dropped more than {report['max_drop']:.1%} below the baseline)"
    console.print(f"{verdict}{why} · run {report['run_id']}")


def print_comparison(console: Console, comparison: Comparison) -> None:
    base, cand = comparison.baseline.run, comparison.candidate.run
    console.print(
        f"baseline {base.run_id} ({_target(base)}) → candidate {cand.run_id} ({_target(cand)}): pass rate "
        f"{base.pass_rate:.1%} → {cand.pass_rate:.1%} ({comparison.pass_rate_delta:+.1%}), mean score "
        f"{base.mean_score:.3f} → {cand.mean_score:.3f} ({comparison.mean_score_delta:+.3f})"
    )
    if comparison.metric_deltas:
        table = Table("metric", "baseline", "candidate", "delta", title="Score delta per metric", title_justify="left")
        for name, (before, after) in comparison.metric_deltas.items():
            delta = "" if before is None or after is None else f"{after - before:+.3f}"
            table.add_row(name, _score(before), _score(after), delta)
        console.print(table)
    for title, items, style in (("Newly failing", comparison.newly_failing, "red"),
                                ("Newly passing", comparison.newly_passing, "green")):
        if items:
            table = Table("case", "reason", title=f"{title} ({len(items)})", title_justify="left", style=style)
            for item in items:
                table.add_row(item.case_id, item.reason)
            console.print(table)
    if comparison.added or comparison.removed:
        console.print(f"cases added: {len(comparison.added)}, removed: {len(comparison.removed)}")


def print_history(console: Console, suite: str, runs: list[EvalRun]) -> None:
    table = Table("run", "when (UTC)", "prompt", "pass rate", "score", "fail/err", "cost", "result",
                  title=f"Runs of {suite}, newest first", title_justify="left")
    for run in runs:
        prompt = _target(run) + (f" ({run.label})" if run.label else "")
        table.add_row(
            run.run_id, f"{run.created_at:%Y-%m-%d %H:%M}", prompt, f"{run.pass_rate:.1%}", f"{run.mean_score:.3f}",
            f"{run.failed_count}/{run.error_count}", "n/a" if run.cost_usd is None else f"${run.cost_usd:.4f}",
            "[green]passed[/]" if run.passed else "[red]failed[/]",
        )
    console.print(table)


def _target(run: EvalRun) -> str:
    return f"{run.prompt_name}@{run.prompt_version if run.prompt_version is not None else '?'}"


def _rate(rate: float, ok: bool) -> str:
    return f"[{'green' if ok else 'red'}]{rate:.1%}[/]"


def _score(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"
