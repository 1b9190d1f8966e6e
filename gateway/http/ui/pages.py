"""The dashboard's pages, as one table: a page is a URL, a title, a template and a loader.

A loader is synchronous and gets the database and the query parameters; the app runs it in one worker thread, so
a page is one request and one thread hop, whatever it reads. Figures come from the same code as the admin API's:
the cost report (``gateway.reports``, as ``GET /admin/costs``), the key and prompt stores, the prompt comparison
and the eval store, the guardrails' findings report (as ``GET /admin/guardrails/report``). Adding a page is one
loader, one template and one ``Page`` in ``PAGES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from gateway.db import Database
from gateway.errors import NotFound
from gateway.evals import compare as run_compare
from gateway.evals import store as eval_store
from gateway.guardrails.manage import report as guardrail_report
from gateway.http.handlers.usage import report_query
from gateway.http.ui import queries
from gateway.keys import store as key_store
from gateway.keys.models import key_view, team_view
from gateway.limits.periods import period_bounds
from gateway.prompts import compare as prompt_compare
from gateway.prompts import registry
from gateway.prompts.diff import diff_versions
from gateway.prompts.reference import parse_reference
from gateway.reports import Report, ReportQuery, TimeRange, parse_range, run_report
from gateway.reports.percentiles import histogram_percentiles
from gateway.reports.render import row_dict

Params = Mapping[str, str]
Loader = Callable[[Database, Params], dict[str, Any]]
DetailLoader = Callable[[Database, str, Params], dict[str, Any]]
PERIODS = ("24h", "7d", "30d", "90d")


@dataclass(frozen=True, slots=True)
class Page:
    slug: str  # /ui/<slug>
    title: str
    template: str
    load: Loader
    detail: DetailLoader | None = None  # /ui/<slug>/<item>
    detail_template: str | None = None


def overview(database: Database, params: Params) -> dict[str, Any]:
    """Per-day figures of the period (the cost report grouped by day, as the API gives it), as charts."""
    query = report_query({"group_by": "day", "start": params.get("start") or "7d", "end": params.get("end") or ""})
    report = run_report(database, query)
    days = sorted(report.rows, key=lambda row: row.group.get("day") or "")
    total = report.total
    sampled, ttft = queries.ttft_percentiles(database, query.range.start, query.range.end)
    p99 = histogram_percentiles(total.histogram, (0.99,))[0] if sum(total.histogram) else None
    return {
        "report": report,
        "total": row_dict(total),
        "p99_ms": p99,
        "cache_hit_rate": total.cached / total.requests if total.requests else 0.0,
        "ttft": dict(zip(("p50", "p95", "p99"), ttft, strict=True)),
        "ttft_sampled": sampled,
        "periods": PERIODS,
        "period": params.get("start") or "7d",
        "charts": {**_day_series(days), "range": [_stamp(query.range.start), _stamp(query.range.end)]},
    }


def _stamp(moment: datetime) -> int:
    return int(moment.replace(tzinfo=UTC).timestamp())


def _day_series(days: list[Any]) -> dict[str, Any]:
    stamps = [_stamp(datetime.fromisoformat(str(row.group["day"]))) for row in days]
    quantiles = [histogram_percentiles(row.histogram, (0.5, 0.95, 0.99)) for row in days]
    return {
        "x": stamps,
        "requests": [row.requests for row in days],
        "errors": [row.errors for row in days],
        "error_rate": [round(row.error_rate * 100, 3) for row in days],
        "cost": [round(row.cost_usd, 6) for row in days],
        "tokens": [row.total_tokens for row in days],
        "cache_hit_rate": [round(row.cached / row.requests * 100, 3) if row.requests else 0 for row in days],
        "p50": [q[0] if q[0] is not None else row.p50_ms for q, row in zip(quantiles, days, strict=True)],
        "p95": [q[1] if q[1] is not None else row.p95_ms for q, row in zip(quantiles, days, strict=True)],
        "p99": [q[2] for q in quantiles],
    }


def costs(database: Database, params: Params) -> dict[str, Any]:
    """The cost report for these parameters, exactly as ``GET /admin/costs`` reads them; the top spending keys."""
    names = queries.names(database)
    query = report_query(names.ids(params))
    report = run_report(database, query)
    return {
        "report": report,
        "rows": [_named(row_dict(row), names) for row in report.rows],
        "total": row_dict(report.total),
        "top": [_named(top, names) for top in _top_keys(database, query, report)],
        "dimensions": ("model", "key", "team", "provider", "prompt", "tag", "day"),
        "group_by": query.group_by,
        "params": dict(params),
    }


def _top_keys(database: Database, query: ReportQuery, report: Report, count: int = 10) -> list[dict[str, Any]]:
    """The keys that spent most: summed from the report's own rows when it is grouped by key (no second query)."""
    if "key" not in query.group_by:
        by_key = run_report(database, replace(query, group_by=("key",)))
        return [row_dict(row) for row in by_key.rows[:count]]
    sums: dict[str | None, dict[str, Any]] = {}
    for row in report.rows:
        top = sums.setdefault(row.group.get("key"), {"key": row.group.get("key"), "requests": 0, "cost_usd": 0.0})
        top["requests"] += row.requests
        top["cost_usd"] += row.cost_usd
    return sorted(sums.values(), key=lambda top: -top["cost_usd"])[:count]


def _named(row: dict[str, Any], names: queries.Names) -> dict[str, Any]:
    """A report row with key and team names beside their ids (a row that already has names keeps them)."""
    if "key" in row and not row.get("key_name"):
        row["key_name"] = names.key(row["key"])
    if "team" in row and not row.get("team_name"):
        row["team_name"] = names.team(row["team"])
    return row


def requests(database: Database, params: Params) -> dict[str, Any]:
    before = params.get("before", "")
    names = queries.names(database)
    params = names.ids(params)
    where = queries.LogFilter(
        model=params.get("model") or None,
        key_id=params.get("key") or None,
        team_id=params.get("team") or None,
        errors_only=params.get("errors") == "1",
        before=int(before) if before.isdigit() else None,
    )
    rows = queries.recent_requests(database, where)
    for row in rows:
        row["key_name"], row["team_name"] = names.key(row["key_id"]), names.team(row["team_id"])
    following = rows[-1]["id"] if len(rows) == queries.PAGE_SIZE else None
    return {"rows": rows, "next": following, "params": dict(params), "live": not before}


def request_detail(database: Database, request_id: str, params: Params) -> dict[str, Any]:
    row = queries.request_detail(database, request_id)
    if row is None:
        raise NotFound(f"No request {request_id!r} in the log.")
    names = queries.names(database)
    row["key_name"], row["team_name"] = names.key(row["key_id"]), names.team(row["team_id"])
    return {"row": row}


def prompts(database: Database, params: Params) -> dict[str, Any]:
    return {"prompts": registry.list_prompts(database)}


def prompt_detail(database: Database, name: str, params: Params) -> dict[str, Any]:
    """Versions, labels and canary, a diff, per-variant traffic with its test, history, and eval runs."""
    summary = next((s for s in registry.list_prompts(database) if s.name == name), None)
    if summary is None:
        raise NotFound(f"No prompt {name!r}.")
    versions = queries.prompt_versions(database, name)
    # The label to compare traffic on: asked for, else one running a canary, else production, else any.
    ranked = sorted(summary.labels, key=lambda info: (info.canary_version is None, info.label != "production"))
    label = params.get("label") or (ranked[0].label if ranked else "production")
    return {
        "summary": summary,
        "versions": versions,
        "diff": _diff(database, name, versions, params),
        "comparison": prompt_compare.compare(database, name, label=label) if summary.labels else None,
        "history": registry.history(database, name),
        "runs": queries.eval_runs(database, name),
        "run": _run(database, name, params),
        "label": label,
    }


def _diff(database: Database, name: str, versions: list[dict[str, Any]], params: Params) -> dict[str, Any] | None:
    numbers = [v["version"] for v in versions]
    if len(numbers) < 2:
        return None
    a = params.get("a") or str(numbers[1])
    b = params.get("b") or str(numbers[0])
    old = registry.get_version(database, parse_reference(f"{name}@{a}"))
    new = registry.get_version(database, parse_reference(f"{name}@{b}"))
    return {
        "a": old.version,
        "b": new.version,
        "parts": diff_versions(name, old.version, old.content, new.version, new.content),
    }


def _run(database: Database, name: str, params: Params) -> dict[str, Any] | None:
    """One eval run's cases, and its comparison against a baseline run of the same suite (the one before it)."""
    run_id = params.get("run")
    if not run_id:
        return None
    try:
        stored = eval_store.load_run(database, run_id)
    except eval_store.RunNotFound as exc:
        raise NotFound(str(exc)) from exc
    baseline_id = params.get("baseline") or _previous_run(database, stored.run)
    comparison = None
    if baseline_id:
        comparison = run_compare.compare(eval_store.load_run(database, baseline_id), stored).as_dict()
    return {"stored": stored, "comparison": comparison, "baseline": baseline_id}


def _previous_run(database: Database, run: Any) -> str | None:
    earlier = [r for r in eval_store.history(database, run.suite, limit=50) if r.created_at < run.created_at]
    return earlier[0].run_id if earlier else None


def keys(database: Database, params: Params) -> dict[str, Any]:
    """Every key and team with its limits, expiry and spend in its current budget period."""
    now = datetime.now(UTC)
    key_rows = key_store.list_keys(database)
    teams = key_store.list_teams(database)
    periods = {row.budget_period for row, _ in key_rows} | {team.budget_period for team in teams}
    spend = {period: _spend(database, period, now) for period in periods}
    return {
        "key_rows": [
            {**key_view(row, team), "spent": spend[row.budget_period][0].get(row.id, 0.0)} for row, team in key_rows
        ],
        "team_rows": [{**team_view(team), "spent": spend[team.budget_period][1].get(team.id, 0.0)} for team in teams],
    }


def _spend(database: Database, period: str, now: datetime) -> tuple[dict[str, float], dict[str, float]]:
    start, end = period_bounds(period, now)
    window = TimeRange(start.replace(tzinfo=None), end.replace(tzinfo=None))
    by_key = run_report(database, ReportQuery(range=window, group_by=("key",)))
    by_team = run_report(database, ReportQuery(range=window, group_by=("team",)))
    return _by(by_key, "key"), _by(by_team, "team")


def _by(report: Report, dimension: str) -> dict[str, float]:
    return {str(row.group[dimension]): row.cost_usd for row in report.rows if row.group.get(dimension)}


CACHE_DIMENSIONS = ("model", "key", "team")


def cache(database: Database, params: Params) -> dict[str, Any]:
    """Hits, hit rate and savings of the period by model, key and team: the cost report (``GET /admin/costs``)
    grouped by all three at once, summed per dimension here; the semantic hits among them from the log."""
    period = params.get("start") or "7d"
    query = report_query({"group_by": ",".join(CACHE_DIMENSIONS), "start": period})
    report = run_report(database, query)
    names = queries.names(database)
    semantic = queries.semantic_hits(database, query.range.start, query.range.end)
    total = report.total
    return {
        "report": report,
        "total": row_dict(total),
        "hit_rate": total.cached / total.requests if total.requests else 0.0,
        "exact": total.cached - sum(semantic.values()),
        "semantic": sum(semantic.values()),
        "by": {dimension: _cache_rows(report, dimension, names, semantic) for dimension in CACHE_DIMENSIONS},
        "periods": PERIODS,
        "period": period,
    }


def _cache_rows(
    report: Report, dimension: str, names: queries.Names, semantic: dict[str, int]
) -> list[dict[str, Any]]:
    """The report's rows summed over the other dimensions (sums add up: the same figures as grouping by one)."""
    sums: dict[str | None, dict[str, Any]] = {}
    for row in report.rows:
        value = row.group.get(dimension)
        found = sums.setdefault(value, {dimension: value, "requests": 0, "cached": 0, "cache_savings_usd": 0.0})
        found["requests"] += row.requests
        found["cached"] += row.cached
        found["cache_savings_usd"] += row.cache_savings_usd
    for found in sums.values():
        found["hit_rate"] = found["cached"] / found["requests"] if found["requests"] else 0.0
        _named(found, names)
        if dimension == "model":
            found["semantic"] = semantic.get(str(found["model"]), 0)
    return sorted(sums.values(), key=lambda found: (-found["cached"], -found["requests"], str(found[dimension])))


GUARDRAIL_DIMENSIONS = ("guardrail", "policy", "action", "stage", "key", "team")
GUARDRAIL_TABLES = {"guardrail": ("guardrail", "policy", "action"), "key": ("key", "team", "action")}


def guardrails(database: Database, params: Params) -> dict[str, Any]:
    """Guardrail findings of the period, from the report behind ``GET /admin/guardrails/report``: counted once by
    every dimension the page shows, then summed per table (counts add up)."""
    period = params.get("start") or "7d"
    since = parse_range(period, None, names=("start", "end")).start
    found = guardrail_report(database, since, GUARDRAIL_DIMENSIONS)
    names = queries.names(database)
    actions = _summed(found, ("action",))
    return {
        "since": since,
        "total": sum(row["count"] for row in found),
        "actions": {row["action"]: row["count"] for row in actions},
        "tables": {
            name: [_named(row, names) for row in _summed(found, dimensions)]
            for name, dimensions in GUARDRAIL_TABLES.items()
        },
        "dimensions": GUARDRAIL_TABLES,
        "periods": PERIODS,
        "period": period,
    }


def _summed(rows: list[dict[str, Any]], dimensions: tuple[str, ...]) -> list[dict[str, Any]]:
    counts: dict[tuple[str, ...], int] = {}
    for row in rows:
        group = tuple(row[d] for d in dimensions)
        counts[group] = counts.get(group, 0) + row["count"]
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [{**dict(zip(dimensions, group, strict=True)), "count": n} for group, n in ordered]


PAGES: tuple[Page, ...] = (
    Page("overview", "Overview", "overview.html", overview),
    Page("costs", "Costs", "costs.html", costs),
    Page("requests", "Requests", "requests.html", requests, request_detail, "request.html"),
    Page("prompts", "Prompts", "prompts.html", prompts, prompt_detail, "prompt.html"),
    Page("cache", "Cache", "cache.html", cache),
    Page("guardrails", "Guardrails", "guardrails.html", guardrails),
    Page("keys", "Keys & budgets", "keys.html", keys),
)
