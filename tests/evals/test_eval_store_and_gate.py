"""Stored runs: the release gate reads the newest run of a suite on a version; compare finds what changed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from support.databases import POSTGRESQL

from gateway.db import Database
from gateway.evals.assertions import AssertionOutcome
from gateway.evals.compare import compare
from gateway.evals.model import AssertionSpec, Case, Threshold
from gateway.evals.results import CaseResult, RunResult, score_case
from gateway.evals.store import RunNotFound, find_run, history, load_run, save_run
from gateway.prompts.gate import release_gate


def case_result(case_id: str, passed: bool, *, metric: str = "m", error: str | None = None) -> CaseResult:
    case = Case(case_id, None, {"q": case_id}, (AssertionSpec("contains", value="x"),))
    result = CaseResult(case, output=None if error else f"answer {case_id}", error=error, latency_ms=10.0,
                        cost_usd=0.001)
    if error is None:
        result.assertions = [AssertionOutcome("contains", metric, 1.0, passed, 1.0 if passed else 0.0,
                                              "found" if passed else f"missing in {case_id}")]
    score_case(result)
    return result


def make_run(outcomes: dict[str, bool | None], *, version: int, threshold: float = 1.0, suite: str = "s",
             label: str | None = None, minutes: int = 0) -> RunResult:
    results = [case_result(k, bool(v), error=None if v is not None else "HTTP 503: unavailable")
               for k, v in outcomes.items()]
    return RunResult(
        run_id="run_" + uuid.uuid4().hex[:12], suite_name=suite, suite_hash="h" * 64, suite_path="evals/s.yaml",
        prompt_name="p", prompt_version=version, label=label, threshold=Threshold(threshold), models=[],
        results=results, created_at=datetime.now(UTC) + timedelta(minutes=minutes), duration_s=1.0,
    )


def test_summary_counts_errors_apart_from_failures() -> None:
    run = make_run({"a": True, "b": False, "c": None, "d": True}, version=1, threshold=0.5)
    s = run.summary
    assert (s.total, s.passed, s.failed, s.errors) == (4, 2, 1, 1)
    assert s.pass_rate == 0.5 and s.mean_score == 0.5 and s.metrics == {"m": pytest.approx(2 / 3)}
    assert run.threshold_met and not make_run({"a": True, "b": False}, version=1, threshold=0.6).threshold_met


def test_gate_refuses_without_a_run_and_reads_only_the_newest_run_of_that_version(database: Database) -> None:
    with database.session() as session:
        ok, reason = release_gate(session, "p", 1, "s")
    assert not ok and "no eval run of suite 's' on p@1" in reason
    save_run(database, make_run({"a": True}, version=1, minutes=0))
    save_run(database, make_run({"a": False}, version=1, minutes=1))
    save_run(database, make_run({"a": True}, version=2, minutes=2))
    save_run(database, make_run({"a": True}, version=1, suite="other", minutes=3))
    with database.session() as session:
        failed, why_not = release_gate(session, "p", 1, "s")
        passed, why = release_gate(session, "p", 2, "s")
    assert not failed and "did not pass" in why_not and "0/1 passed, 1 failed" in why_not
    assert passed and "passed" in why and "p@2" in why


def test_a_run_is_stored_with_its_cases_and_read_back(database: Database) -> None:
    run = make_run({"a": True, "b": None}, version=3, threshold=0.5, label="staging")
    save_run(database, run)
    stored = load_run(database, run.run_id)
    assert (stored.run.prompt_version, stored.run.label, stored.run.passed) == (3, "staging", True)
    assert (stored.run.total, stored.run.error_count, stored.run.cost_usd) == (2, 1, pytest.approx(0.002))
    by_case = {r.case_id: r for r in stored.results}
    assert by_case["a"].assertions[0]["reason"] == "found" and by_case["a"].vars == {"q": "a"}
    assert by_case["b"].error == "HTTP 503: unavailable" and not by_case["b"].passed
    assert [r.run_id for r in history(database, "s")] == [run.run_id]


def test_compare_lists_newly_failing_and_passing_cases_and_the_metric_delta(database: Database) -> None:
    base = make_run({"a": True, "b": True, "c": False, "gone": True}, version=1)
    cand = make_run({"a": True, "b": False, "c": True, "new": True}, version=2, minutes=1)
    save_run(database, base)
    save_run(database, cand)
    result = compare(find_run(database, "s", "1"), find_run(database, "s", cand.run_id))
    assert [c.case_id for c in result.newly_failing] == ["b"] and "missing in b" in result.newly_failing[0].reason
    assert [c.case_id for c in result.newly_passing] == ["c"]
    assert result.added == ["new"] and result.removed == ["gone"]
    assert result.metric_deltas["m"] == (pytest.approx(3 / 4), pytest.approx(3 / 4))
    assert result.pass_rate_delta == pytest.approx(0.0) and not result.regressed(0.0)
    worse = make_run({"a": True, "b": False, "c": True}, version=3, minutes=2)
    save_run(database, worse)
    drop = compare(find_run(database, "s", "1"), find_run(database, "s", "3"))
    assert drop.pass_rate_delta == pytest.approx(2 / 3 - 3 / 4) and drop.regressed(0.05) and not drop.regressed(0.1)


def test_a_label_selector_falls_back_to_runs_recorded_with_that_label(database: Database) -> None:
    run = make_run({"a": True}, version=4, label="staging")
    save_run(database, run)
    assert find_run(database, "s", "staging").run.run_id == run.run_id
    with pytest.raises(RunNotFound):
        find_run(database, "s", "production")


@pytest.mark.parametrize("database_url", [POSTGRESQL], indirect=True)
@pytest.mark.postgres
def test_runs_and_the_gate_work_on_postgresql(database: Database) -> None:
    save_run(database, make_run({"a": True, "b": None}, version=1, threshold=0.5))
    with database.session() as session:
        ok, reason = release_gate(session, "p", 1, "s")
    assert ok, reason
    assert load_run(database, history(database, "s")[0].run_id).results[1].error == "HTTP 503: unavailable"
