"""Storing runs and reading them back (synchronous; the CLI calls it, never the gateway's request path).

A *selector* names a stored run: ``run_...`` (a run id), a number (the newest run on that prompt version) or a
label (the newest run on the version the label points at in the prompt registry; failing that, the newest run
recorded with that label).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from gateway.db import Database
from gateway.db.evals import EvalResult, EvalRun
from gateway.db.prompts import Prompt, PromptLabel
from gateway.evals.results import RunResult


class RunNotFound(LookupError):
    pass


def save_run(database: Database, run: RunResult) -> EvalRun:
    s = run.summary
    row = EvalRun(
        run_id=run.run_id,
        created_at=run.created_at,
        suite=run.suite_name,
        suite_hash=run.suite_hash,
        prompt_name=run.prompt_name,
        prompt_version=run.prompt_version,
        label=run.label,
        passed=run.threshold_met,
        pass_rate=s.pass_rate,
        mean_score=s.mean_score,
        total=s.total,
        passed_count=s.passed,
        failed_count=s.failed,
        error_count=s.errors,
        threshold=run.threshold.as_dict(),
        metrics=s.metrics,
        models=run.models,
        cost_usd=s.cost_usd,
        duration_s=run.duration_s,
        git_sha=run.git_sha,
    )
    with database.session() as session, session.begin():
        session.add(row)
        session.flush()  # the run row exists before its results reference it
        session.add_all(
            EvalResult(
                run_id=run.run_id,
                case_id=r.key[:255],
                description=r.case.description,
                model=r.model,
                repeat=r.repeat,
                vars=r.case.vars,
                output=r.output,
                passed=r.passed,
                score=r.score,
                assertions=[a.as_dict() for a in r.assertions],
                latency_ms=r.latency_ms,
                cost_usd=r.cost_usd,
                error=r.error,
                cached=r.cached,
            )
            for r in run.results
        )
    return row


@dataclass(slots=True)
class StoredRun:
    run: EvalRun
    results: list[EvalResult]


def load_run(database: Database, run_id: str) -> StoredRun:
    with database.session() as session:
        run = session.exec(select(EvalRun).where(EvalRun.run_id == run_id)).first()
        if run is None:
            raise RunNotFound(f"no eval run {run_id}")
        results = list(session.exec(select(EvalResult).where(EvalResult.run_id == run_id).order_by(col(EvalResult.id))))
        return StoredRun(run, results)


def history(database: Database, suite: str, limit: int = 20) -> list[EvalRun]:
    with database.session() as session:
        rows = session.exec(
            select(EvalRun).where(EvalRun.suite == suite)
            .order_by(col(EvalRun.created_at).desc(), col(EvalRun.id).desc()).limit(limit)
        )
        return list(rows)


def find_run(database: Database, suite: str | None, selector: str, prompt: str | None = None) -> StoredRun:
    """The stored run a selector names (see the module docstring)."""
    if selector.startswith("run_"):
        return load_run(database, selector)
    if suite is None:
        raise RunNotFound(f"name the suite to find the run for '{selector}'")
    with database.session() as session:
        query = select(EvalRun).where(EvalRun.suite == suite)
        if prompt is not None:
            query = query.where(EvalRun.prompt_name == prompt)
        newest = (col(EvalRun.created_at).desc(), col(EvalRun.id).desc())
        version = int(selector) if selector.isdigit() else label_version(session, prompt or _prompt_of(session, suite),
                                                                         selector)
        run = None
        if version is not None:
            run = session.exec(query.where(EvalRun.prompt_version == version).order_by(*newest)).first()
        if run is None and not selector.isdigit():
            run = session.exec(query.where(EvalRun.label == selector).order_by(*newest)).first()
    if run is None:
        raise RunNotFound(f"no stored run of suite '{suite}' for '{selector}'"
                          + (f" (version {version})" if version is not None else ""))
    return load_run(database, run.run_id)


def label_version(session: Session, prompt: str | None, label: str) -> int | None:
    """Where ``label`` of ``prompt`` points in the registry, or None when it is absent."""
    if prompt is None:
        return None
    row = session.exec(
        select(PromptLabel.version).join(Prompt, col(Prompt.id) == col(PromptLabel.prompt_id))
        .where(Prompt.name == prompt, PromptLabel.label == label)
    ).first()
    return int(row) if row is not None else None


def _prompt_of(session: Session, suite: str) -> str | None:
    return session.exec(
        select(EvalRun.prompt_name).where(EvalRun.suite == suite).order_by(col(EvalRun.id).desc())
    ).first()
