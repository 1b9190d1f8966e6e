"""What changed between two stored runs of a suite, case by case.

Cases are matched by their key (case id, plus model and repeat when the suite has them). A case is *failing*
when it did not pass (a failure or an error). A regression is a drop of the pass rate by more than a margin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.db.evals import EvalResult
from gateway.evals.store import StoredRun


@dataclass(frozen=True, slots=True)
class CaseChange:
    case_id: str
    reason: str = ""
    score_before: float | None = None
    score_after: float | None = None


@dataclass(slots=True)
class Comparison:
    baseline: StoredRun
    candidate: StoredRun
    newly_failing: list[CaseChange] = field(default_factory=list)
    newly_passing: list[CaseChange] = field(default_factory=list)
    still_failing: list[CaseChange] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    metric_deltas: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def pass_rate_delta(self) -> float:
        return self.candidate.run.pass_rate - self.baseline.run.pass_rate

    @property
    def mean_score_delta(self) -> float:
        return self.candidate.run.mean_score - self.baseline.run.mean_score

    def regressed(self, max_drop: float) -> bool:
        return self.pass_rate_delta < -max_drop - 1e-12

    def as_dict(self) -> dict[str, Any]:
        def changes(items: list[CaseChange]) -> list[dict[str, Any]]:
            return [{"case": c.case_id, "reason": c.reason, "score_before": c.score_before,
                     "score_after": c.score_after} for c in items]

        return {
            "baseline": self.baseline.run.run_id,
            "candidate": self.candidate.run.run_id,
            "pass_rate": [self.baseline.run.pass_rate, self.candidate.run.pass_rate],
            "newly_failing": changes(self.newly_failing),
            "newly_passing": changes(self.newly_passing),
            "still_failing": changes(self.still_failing),
            "added": self.added,
            "removed": self.removed,
            "metric_deltas": {m: {"baseline": b, "candidate": c} for m, (b, c) in self.metric_deltas.items()},
        }


def compare(baseline: StoredRun, candidate: StoredRun) -> Comparison:
    result = Comparison(baseline, candidate)
    before = {r.case_id: r for r in baseline.results}
    after = {r.case_id: r for r in candidate.results}
    for case_id, now in after.items():
        then = before.get(case_id)
        if then is None:
            result.added.append(case_id)
            continue
        change = CaseChange(case_id, failure_reason(now) or failure_reason(then), then.score, now.score)
        if then.passed and not now.passed:
            result.newly_failing.append(change)
        elif not then.passed and now.passed:
            result.newly_passing.append(change)
        elif not now.passed:
            result.still_failing.append(change)
    result.removed = [case_id for case_id in before if case_id not in after]
    metrics = sorted(set(baseline.run.metrics) | set(candidate.run.metrics))
    result.metric_deltas = {m: (baseline.run.metrics.get(m), candidate.run.metrics.get(m)) for m in metrics}
    return result


def failure_reason(row: EvalResult) -> str:
    if row.passed:
        return ""
    if row.error:
        return f"error: {row.error}"
    failing = [a for a in row.assertions if not a.get("pass") and a.get("weight", 1) > 0]
    if failing:
        return "; ".join(f"{a.get('type')}: {a.get('reason')}" for a in failing)
    return f"score {row.score:.2f} below the case threshold"
