"""The release gate: a prompt version may reach ``production`` only after its eval suite passed on it.

``release_gate`` reads the newest stored run of the suite for that exact prompt version (see
``gateway.db.evals``); it never runs anything itself. The prompt release command calls it. It lives with the
prompts, not with the evals that write those runs, so that ``prompts`` never imports ``evals`` (``evals`` imports
``prompts`` to resolve the version it runs against).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from gateway.db.evals import EvalRun


def release_gate(session: Session, prompt_name: str, version: int, suite: str) -> tuple[bool, str]:
    """(passed?, reason) from the newest run of ``suite`` on ``prompt_name@version``."""
    run = session.exec(
        select(EvalRun)
        .where(EvalRun.suite == suite, EvalRun.prompt_name == prompt_name, EvalRun.prompt_version == version)
        .order_by(col(EvalRun.created_at).desc(), col(EvalRun.id).desc())
        .limit(1)
    ).first()
    target = f"{prompt_name}@{version}"
    if run is None:
        return False, (
            f"no eval run of suite '{suite}' on {target}; run "
            f"`gateway eval run evals/{suite}.yaml --prompt-version {version}` first"
        )
    summary = (
        f"run {run.run_id} of suite '{suite}' on {target} at {run.created_at:%Y-%m-%d %H:%M} UTC: "
        f"pass rate {run.pass_rate:.0%} ({run.passed_count}/{run.total} passed, "
        f"{run.failed_count} failed, {run.error_count} errors)"
    )
    if not run.passed:
        return False, f"the latest {summary} did not pass"
    return True, f"the latest {summary} passed"
