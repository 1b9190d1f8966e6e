"""Label moves: release (optionally as a canary), promote a canary, roll back. Each is audited.

* ``release(name, N, label)`` points the label at version N; with ``canary=P`` the label stays and P% of its
  traffic goes to N instead.
* ``promote(name, label)`` makes the label's canary its version and ends the canary.
* ``rollback(name, label)`` ends a canary at once if there is one; otherwise it points the label back at its
  previous target. Repeated rollbacks walk further back through the label's history.

The release gate: a version that names an eval suite (``eval_suite``) may only reach ``production`` (as a plain
release, a canary or a promotion) if the latest run of that suite on that version passed
(``gateway.prompts.gate.release_gate``). ``force=True`` overrides a refusal; the override is in the audit row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from gateway.db import Database
from gateway.db.audit import AuditLog, record_audit, utcnow
from gateway.db.prompts import Prompt, PromptLabel, PromptVersion
from gateway.prompts.errors import LabelNotFound, ReleaseRefused
from gateway.prompts.gate import release_gate
from gateway.prompts.registry import LATEST, audit_target, label_row, move_label, prompt_row, version_row
from gateway.prompts.spec import check_label

GATED_LABEL = "production"
#: Actions that move a label's pointer, in the order a rollback unwinds them.
_POINTER_MOVES = ("prompt.release", "prompt.promote")


@dataclass(slots=True)
class Move:
    name: str
    label: str
    action: str  # prompt.release, prompt.canary, prompt.promote, prompt.rollback, prompt.canary_end, none
    from_version: int | None
    to_version: int | None
    canary_percent: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def changed(self) -> bool:
        return self.action != "none"


def release(
    database: Database, name: str, version: int, *, label: str = GATED_LABEL, canary: float | None = None,
    force: bool = False, actor: str,
) -> Move:
    _check_movable(label)
    if canary is not None and not 0 < canary < 100:
        raise ReleaseRefused("--canary is the percentage of traffic for the new version: more than 0, less than 100")
    with database.session() as session, session.begin():
        prompt = prompt_row(session, name)
        assert prompt.id is not None
        target = version_row(session, prompt, version)
        row = label_row(session, prompt.id, label, lock=True)
        if canary is not None:
            return _start_canary(session, prompt, target, row, label, canary, force, actor)
        current = row.version if row else None
        if row is not None and current == version and row.canary_version is None:
            return Move(name, label, "none", current, version)
        detail = _gate(session, prompt, target, label, force)
        if row is not None and row.canary_version is not None:
            detail["ended_canary"] = {"version": row.canary_version, "percent": row.canary_percent}
        move_label(session, prompt.id, label, version, actor, row)
        return _audit(session, actor, Move(name, label, "prompt.release", current, version, detail=detail))


def _start_canary(
    session: Session, prompt: Prompt, target: PromptVersion, row: PromptLabel | None, label: str,
    percent: float, force: bool, actor: str,
) -> Move:
    if row is None:
        raise ReleaseRefused(
            f"`{label}` of `{prompt.name}` points at no version yet, so there is nothing to split traffic with; "
            "release a version first, without --canary"
        )
    if row.version == target.version:
        raise ReleaseRefused(f"version {target.version} already is `{label}`; a canary needs another version")
    detail = _gate(session, prompt, target, label, force)
    detail.update(main_version=row.version, previous_canary=row.canary_version)
    previous = row.canary_version
    row.canary_version, row.canary_percent, row.canary_started_at = target.version, percent, utcnow()
    row.revision += 1
    row.updated_at, row.updated_by = utcnow(), actor
    session.add(row)
    move = Move(prompt.name, label, "prompt.canary", previous, target.version, percent, detail)
    return _audit(session, actor, move)


def promote(database: Database, name: str, *, label: str = GATED_LABEL, force: bool = False, actor: str) -> Move:
    _check_movable(label)
    with database.session() as session, session.begin():
        prompt = prompt_row(session, name)
        assert prompt.id is not None
        row = _existing_label(session, prompt, label)
        if row.canary_version is None:
            raise ReleaseRefused(f"`{label}` of `{name}` has no canary to promote")
        target = version_row(session, prompt, row.canary_version)
        detail = _gate(session, prompt, target, label, force)
        detail["canary_percent"] = row.canary_percent
        current = row.version
        move_label(session, prompt.id, label, target.version, actor, row)
        return _audit(session, actor, Move(name, label, "prompt.promote", current, target.version, detail=detail))


def rollback(database: Database, name: str, *, label: str = GATED_LABEL, actor: str) -> Move:
    _check_movable(label)
    with database.session() as session, session.begin():
        prompt = prompt_row(session, name)
        assert prompt.id is not None
        row = _existing_label(session, prompt, label)
        if row.canary_version is not None:
            move = Move(name, label, "prompt.canary_end", row.canary_version, None, row.canary_percent,
                        {"reason": "rollback", "main_version": row.version})
            row.canary_version = row.canary_percent = row.canary_started_at = None
            row.revision += 1
            row.updated_at, row.updated_by = utcnow(), actor
            session.add(row)
            return _audit(session, actor, move)
        previous = previous_target(session, name, label)
        if previous is None:
            raise ReleaseRefused(f"`{label}` of `{name}` has no earlier version to roll back to")
        current = row.version
        move_label(session, prompt.id, label, previous, actor, row)
        return _audit(session, actor, Move(name, label, "prompt.rollback", current, previous))


def previous_target(session: Session, name: str, label: str) -> int | None:
    """Replay the label's audited moves as a stack: a release pushes where it came from, a rollback pops."""
    rows = session.exec(
        select(AuditLog)
        .where(col(AuditLog.target) == audit_target(name, label))
        .where(col(AuditLog.action).in_([*_POINTER_MOVES, "prompt.rollback"]))
        .order_by(col(AuditLog.id))
    )
    stack: list[int | None] = []
    for entry in rows:
        if entry.action in _POINTER_MOVES:
            if entry.from_value is not None and entry.from_value == entry.to_value:
                continue  # a release that only ended a canary did not move the pointer
            stack.append(int(entry.from_value) if entry.from_value is not None else None)
        elif stack:
            stack.pop()
    return stack[-1] if stack else None


def _gate(session: Session, prompt: Prompt, target: PromptVersion, label: str, force: bool) -> dict[str, Any]:
    """Check the eval gate for a move of ``label`` to ``target``; the returned detail goes into the audit row."""
    if label != GATED_LABEL or target.eval_suite is None:
        return {}
    passed, reason = release_gate(session, prompt.name, target.version, target.eval_suite)
    detail: dict[str, Any] = {"eval_suite": target.eval_suite, "gate_passed": passed, "gate": reason}
    if passed:
        return detail
    if not force:
        raise ReleaseRefused(
            f"refusing to put {prompt.name}@{target.version} on `{label}`: {reason} "
            f"(eval suite `{target.eval_suite}`). Run the suite, or pass --force, which is written to the audit log"
        )
    detail["forced"] = True
    return detail


def _existing_label(session: Session, prompt: Prompt, label: str) -> PromptLabel:
    assert prompt.id is not None
    row = label_row(session, prompt.id, label, lock=True)
    if row is None:
        raise LabelNotFound(f"prompt `{prompt.name}` has no label `{label}`")
    return row


def _check_movable(label: str) -> None:
    try:
        check_label(label)
    except ValueError as exc:
        raise ReleaseRefused(str(exc)) from exc
    if label == LATEST:
        raise ReleaseRefused("`latest` follows every push by itself and cannot be moved by hand")


def _audit(session: Session, actor: str, move: Move) -> Move:
    detail = dict(move.detail)
    if move.canary_percent is not None:
        detail["canary_percent"] = move.canary_percent
    record_audit(
        session, actor=actor, action=move.action, target=audit_target(move.name, move.label),
        from_value=move.from_version, to_value=move.to_version, detail=detail,
    )
    return move
