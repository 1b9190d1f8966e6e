"""The outcome of a run: per-case results, and the totals that decide whether the suite passed.

* A case passes when every assertion with a weight above zero passes, or, when the case has a ``threshold``,
  when its weighted score reaches it. Weight-0 assertions are reported but never decide.
* A case's score is the weighted mean of its assertions' scores.
* A case that could not get an answer (the gateway still failed after retries) is an *error*: it does not pass,
  scores 0, and is counted apart from failures.
* The pass rate is passed / all cases (errors included); the mean score is over all cases (errors count 0);
  the mean per ``metric`` is over the assertions that carry it.
* The suite passes when the pass rate (and the mean score, when the threshold names one) reaches the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.evals.assertions import AssertionOutcome
from gateway.evals.model import Case, Threshold


@dataclass(slots=True)
class CaseResult:
    case: Case
    model: str | None = None
    repeat: int = 0
    output: str | None = None
    assertions: list[AssertionOutcome] = field(default_factory=list)
    latency_ms: float | None = None
    cost_usd: float | None = None
    error: str | None = None
    cached: bool = False
    passed: bool = False
    score: float = 0.0

    @property
    def status(self) -> str:
        return "error" if self.error is not None else ("pass" if self.passed else "fail")

    @property
    def key(self) -> str:
        """Identifies the same case across runs (for compare)."""
        parts = [self.case.id]
        if self.model:
            parts.append(f"[{self.model}]")
        if self.repeat:
            parts.append(f"#{self.repeat + 1}")
        return " ".join(parts)

    def failures(self) -> list[AssertionOutcome]:
        return [a for a in self.assertions if not a.passed and a.weight > 0]

    def reason(self) -> str:
        if self.error is not None:
            return self.error
        failing = self.failures()
        if failing:
            return "; ".join(f"{a.type}: {a.reason}" for a in failing)
        if not self.passed and self.case.threshold is not None:
            return f"score {self.score:.2f} below the case threshold {self.case.threshold}"
        return ""


def score_case(result: CaseResult) -> None:
    """Set ``passed`` and ``score`` from the assertions (see the module docstring)."""
    counted = [a for a in result.assertions if a.weight > 0]
    total_weight = sum(a.weight for a in counted)
    result.score = sum(a.score * a.weight for a in counted) / total_weight if total_weight else 1.0
    if result.error is not None:
        result.passed, result.score = False, 0.0
    elif result.case.threshold is not None:
        result.passed = result.score >= result.case.threshold
    else:
        result.passed = all(a.passed for a in counted)


@dataclass(slots=True)
class RunSummary:
    total: int
    passed: int
    failed: int
    errors: int
    pass_rate: float
    mean_score: float
    metrics: dict[str, float]
    cost_usd: float | None
    mean_latency_ms: float | None
    cached: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "passed": self.passed, "failed": self.failed, "errors": self.errors,
            "pass_rate": self.pass_rate, "mean_score": self.mean_score, "metrics": self.metrics,
            "cost_usd": self.cost_usd, "mean_latency_ms": self.mean_latency_ms, "cached": self.cached,
        }


def summarize(results: list[CaseResult]) -> RunSummary:
    total = len(results)
    passed = sum(1 for r in results if r.status == "pass")
    errors = sum(1 for r in results if r.status == "error")
    by_metric: dict[str, list[float]] = {}
    for result in results:
        for outcome in result.assertions:
            by_metric.setdefault(outcome.metric, []).append(outcome.score)
    costs = [r.cost_usd for r in results if r.cost_usd is not None]
    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    return RunSummary(
        total=total,
        passed=passed,
        failed=total - passed - errors,
        errors=errors,
        pass_rate=passed / total if total else 0.0,
        mean_score=sum(r.score for r in results) / total if total else 0.0,
        metrics={name: sum(scores) / len(scores) for name, scores in sorted(by_metric.items())},
        cost_usd=sum(costs) if costs else None,
        mean_latency_ms=sum(latencies) / len(latencies) if latencies else None,
        cached=sum(1 for r in results if r.cached),
    )


@dataclass(slots=True)
class RunResult:
    """A finished run, before or after it is stored."""

    run_id: str
    suite_name: str
    suite_hash: str
    suite_path: str
    prompt_name: str
    prompt_version: int | None
    label: str | None
    threshold: Threshold
    models: list[str]
    results: list[CaseResult]
    created_at: datetime
    duration_s: float
    git_sha: str | None = None
    summary: RunSummary = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize(self.results)

    @property
    def threshold_met(self) -> bool:
        s, t = self.summary, self.threshold
        return s.pass_rate >= t.pass_rate - 1e-12 and (t.mean_score is None or s.mean_score >= t.mean_score - 1e-12)

    @property
    def target(self) -> str:
        version = self.prompt_version if self.prompt_version is not None else "?"
        return f"{self.prompt_name}@{version}" + (f" ({self.label})" if self.label else "")
