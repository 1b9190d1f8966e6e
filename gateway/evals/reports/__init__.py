"""Reports of a run: JUnit XML (CI test tabs), JSON (machines), a self-contained HTML page (people) and a
markdown summary (``$GITHUB_STEP_SUMMARY``). All are built from ``run_dict``, the JSON report's content."""

from __future__ import annotations

from typing import Any

from gateway.evals.compare import Comparison
from gateway.evals.results import RunResult


def run_dict(run: RunResult, comparison: Comparison | None = None, max_drop: float | None = None) -> dict[str, Any]:
    regressed = comparison is not None and max_drop is not None and comparison.regressed(max_drop)
    return {
        "run_id": run.run_id,
        "suite": run.suite_name,
        "suite_path": run.suite_path,
        "suite_hash": run.suite_hash,
        "prompt": run.prompt_name,
        "prompt_version": run.prompt_version,
        "label": run.label,
        "target": run.target,
        "models": run.models,
        "created_at": run.created_at.isoformat(),
        "duration_s": round(run.duration_s, 3),
        "git_sha": run.git_sha,
        "threshold": run.threshold.as_dict(),
        "threshold_met": run.threshold_met,
        "regressed": regressed,
        "max_drop": max_drop,
        "passed": run.threshold_met and not regressed,
        "summary": run.summary.as_dict(),
        "cases": [
            {
                "id": r.key,
                "case": r.case.id,
                "description": r.case.description,
                "model": r.model,
                "repeat": r.repeat,
                "status": r.status,
                "passed": r.passed,
                "score": round(r.score, 6),
                "reason": r.reason(),
                "vars": r.case.vars,
                "output": r.output,
                "latency_ms": None if r.latency_ms is None else round(r.latency_ms, 2),
                "cost_usd": r.cost_usd,
                "cached": r.cached,
                "error": r.error,
                "assertions": [a.as_dict() for a in r.assertions],
            }
            for r in run.results
        ],
        "comparison": comparison.as_dict() if comparison is not None else None,
    }
