"""Eval scores for ``compare``: the newest eval run of each version of a prompt (from ``gateway.db.evals``).

Imported only by ``compare``, which skips eval scores when the evals feature (this import) is absent.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from gateway.db.evals import EvalRun


def latest_scores(session: Session, name: str, versions: list[int]) -> dict[int, tuple[float | None, bool | None]]:
    """``{version: (mean score, passed)}`` of the newest run on each version that has one."""
    if not versions:
        return {}
    runs = session.exec(
        select(EvalRun)
        .where(col(EvalRun.prompt_name) == name, col(EvalRun.prompt_version).in_(versions))
        .order_by(col(EvalRun.created_at), col(EvalRun.id))
    )
    scores: dict[int, tuple[float | None, bool | None]] = {}
    for run in runs:  # oldest first, so the newest run of each version is the one left
        if run.prompt_version is not None:
            scores[run.prompt_version] = (run.mean_score, run.passed)
    return scores
