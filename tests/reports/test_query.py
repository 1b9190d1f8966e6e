"""The report query on known rows, on SQLite and on PostgreSQL: roll-ups and the raw log give the same sums."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from support.databases import BOTH, new_database, opened

from gateway.db import Database
from gateway.ledger import LogStore
from gateway.pipeline.records import RequestRecord
from gateway.reports import ReportQuery, TimeRange, run_report
from gateway.reports.query import Report

TODAY = datetime.now(UTC).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
WEEK = TimeRange(TODAY - timedelta(days=6), TODAY + timedelta(days=1))  # day-aligned: roll-ups
WEEK_RAW = TimeRange(WEEK.start + timedelta(seconds=1), WEEK.end)  # not aligned: the raw log


def at(days_ago: int, index: int, **fields: object) -> RequestRecord:
    moment = TODAY - timedelta(days=days_ago) + timedelta(minutes=10 + index)
    record = RequestRecord(request_id=f"req_{days_ago}_{index}", created_at=moment.replace(tzinfo=UTC).timestamp(),
                           endpoint="chat", model="m", status=200, latency_ms=100.0, stream=False)
    for name, value in fields.items():
        setattr(record, name, value)
    return record


ROWS = [
    *(at(2, i, model="m1", upstream_model="m1-upstream", provider="openai", key_id="a", team_id="t1", tags=["x"],
         cost_usd=0.01,
         prompt_tokens=10, completion_tokens=5, latency_ms=100.0 * (i + 1)) for i in range(3)),
    *(at(1, i, model="m2", upstream_model="fallback-model", provider="anthropic", key_id="b", team_id="t2",
         tags=["x", "y"], cost_usd=None,
         prompt_tokens=20, completion_tokens=10) for i in range(2)),
    at(1, 9, model="m2", upstream_model="fallback-model", provider="anthropic", key_id="b", team_id="t2",
       tags=["x", "y"], status=500, cost_usd=0.0),
    at(0, 0, model="m1", provider="openai", key_id="a", team_id="t1", prompt_name="p", prompt_version=2,
       cache_status="hit", cost_usd=0.0, cache_savings_usd=0.02, prompt_tokens=10, completion_tokens=5),
    at(30, 0, model="m1", key_id="a", cost_usd=5.0),  # outside the week
]


@pytest.fixture(params=BOTH, scope="module")
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Module-scoped (the rows are written once), so built from ``support.databases`` rather than the fixture."""
    with new_database(request.param, tmp_path_factory.mktemp("reports"), "reports") as url, opened(url) as db:
        LogStore(db).write(ROWS)
        yield db


def by(report: Report, dimension: str) -> dict[str | None, dict[str, float]]:
    return {
        row.group[dimension]: {
            "requests": row.requests, "errors": row.errors, "cached": row.cached, "cost": round(row.cost_usd, 9),
            "unpriced": row.unpriced, "saved": round(row.cache_savings_usd, 9), "tokens": row.total_tokens,
        }
        for row in report.rows
    }


def test_sums_by_model_come_from_the_roll_ups_and_match_the_raw_log(database: Database) -> None:
    rolled = run_report(database, ReportQuery(WEEK, ("model",)))
    mixed = run_report(database, ReportQuery(WEEK_RAW, ("model",)))  # the first, partial day is read raw
    assert (rolled.source, mixed.source) == ("rollups", "rollups+log")
    expected = {
        "m1": {"requests": 4, "errors": 0, "cached": 1, "cost": 0.03, "unpriced": 0, "saved": 0.02, "tokens": 60},
        "m2": {"requests": 3, "errors": 1, "cached": 0, "cost": 0.0, "unpriced": 2, "saved": 0.0, "tokens": 60},
    }
    assert by(rolled, "model") == by(mixed, "model") == expected
    assert [row.group["model"] for row in rolled.rows] == ["m1", "m2"]  # the costliest first
    assert rolled.total.requests == mixed.total.requests == 7


def test_partial_days_at_both_ends_are_read_from_the_log(database: Database) -> None:
    # From 00:11 two days ago (skips that day's first row) to 00:11 today (keeps today's row, at 00:10).
    cut = TimeRange(TODAY - timedelta(days=2, minutes=-11), TODAY + timedelta(minutes=11))
    report = run_report(database, ReportQuery(cut, ("model",)))
    assert report.source == "rollups+log"
    assert {row.group["model"]: row.requests for row in report.rows} == {"m1": 3, "m2": 3}


def test_a_request_counts_in_each_of_its_tags_and_once_in_the_total(database: Database) -> None:
    report = run_report(database, ReportQuery(WEEK, ("tag",)))
    assert report.source == "rollups"  # the tag roll-ups
    assert {tag: row["requests"] for tag, row in by(report, "tag").items()} == {"x": 6, "y": 3, None: 1}
    assert report.total.requests == 7
    raw = run_report(database, ReportQuery(WEEK_RAW, ("tag",)))
    assert by(raw, "tag") == by(report, "tag")


def test_tags_with_other_dimensions_and_filters_are_read_from_the_tag_roll_ups(database: Database) -> None:
    report = run_report(database, ReportQuery(WEEK, ("tag", "model")))
    assert report.source == "rollups"  # before: the whole log, unnested (seconds at a million rows)
    groups = {(row.group["tag"], row.group["model"]): row.requests for row in report.rows}
    assert groups == {("x", "m1"): 3, ("x", "m2"): 3, ("y", "m2"): 3, (None, "m1"): 1}
    raw = run_report(database, ReportQuery(WEEK_RAW, ("tag", "model")))
    assert {(row.group["tag"], row.group["model"]): row.requests for row in raw.rows} == groups
    filtered = run_report(database, ReportQuery(WEEK, ("tag",), key_id="b"))
    assert filtered.source == "rollups" and {row.group["tag"]: row.requests for row in filtered.rows} == {
        "x": 3, "y": 3,
    }


def test_answered_groups_by_the_model_that_answered_not_the_one_requested(database: Database) -> None:
    report = run_report(database, ReportQuery(WEEK, ("model", "answered")))
    groups = {(row.group["model"], row.group["answered"]): row.requests for row in report.rows}
    assert groups == {("m1", "m1-upstream"): 3, ("m1", None): 1, ("m2", "fallback-model"): 3}


def test_grouping_by_several_dimensions_and_filtering_by_key(database: Database) -> None:
    report = run_report(database, ReportQuery(WEEK, ("day", "prompt"), key_id="a"))
    groups = {(row.group["day"], row.group["prompt"]): row.requests for row in report.rows}
    assert groups == {
        ((TODAY - timedelta(days=2)).date().isoformat(), None): 3,
        (TODAY.date().isoformat(), "p@2"): 1,
    }
    assert report.total.requests == 4 and report.total.cost_usd == pytest.approx(0.03)


def test_percentiles_within_a_day_are_exact_on_postgresql(database: Database) -> None:
    day = TimeRange(TODAY - timedelta(days=2), TODAY - timedelta(days=2, hours=-12))
    report = run_report(database, ReportQuery(day, ("team",)))
    assert report.source == "log"
    row = report.rows[0]  # t1's latencies that day: 100, 200 and 300 ms
    if database.dialect == "postgresql":
        assert (row.p50_ms, row.p95_ms) == (pytest.approx(200.0), pytest.approx(290.0))
    else:
        assert row.p50_ms is not None and 200 / 1.3 < row.p50_ms < 200 * 1.3
    rolled = run_report(database, ReportQuery(WEEK, ("team",), team_id="t1")).rows[0]
    assert rolled.p95_ms is not None and 300 / 1.3 < rolled.p95_ms < 300 * 1.3
