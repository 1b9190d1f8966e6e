"""The registry on a real database file: versions, labels, rollback history, canaries, the release gate, audit."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import col, select
from support.prompts import prompt_doc

from gateway.db import Database
from gateway.db.audit import AuditLog
from gateway.db.evals import EvalRun
from gateway.prompts.errors import LabelNotFound, ReleaseRefused
from gateway.prompts.reference import Reference
from gateway.prompts.registry import get_version, history, list_prompts, push
from gateway.prompts.release import promote, release, rollback
from gateway.prompts.spec import PromptSpec


def spec(name: str, text: str = "Be brief.", **fields: Any) -> tuple[str, PromptSpec]:
    doc = prompt_doc(name, **fields)
    doc["messages"][0]["content"] = text
    return f"{name}.yaml", PromptSpec.model_validate(doc)


def test_versions_are_numbered_and_unchanged_content_adds_none(database: Database) -> None:
    first = push(database, [spec("a"), spec("b")], "ann")
    assert [(r.name, r.status, r.version) for r in first] == [("a", "created", 1), ("b", "created", 1)]
    again = push(database, [spec("a"), spec("b")], "ann")
    assert [r.status for r in again] == ["unchanged", "unchanged"]
    edited = push(database, [spec("a", "Be very brief."), spec("b")], "bob")
    assert (edited[0].status, edited[0].version, edited[0].previous) == ("new version", 2, 1)
    summary = {s.name: s for s in list_prompts(database)}
    assert summary["a"].versions == 2 and summary["b"].versions == 1
    assert get_version(database, Reference("a", label="latest")).version == 2


def test_pushing_old_content_again_moves_latest_back_instead_of_copying_it(database: Database) -> None:
    push(database, [spec("a", "one")], "ann")
    push(database, [spec("a", "two")], "ann")
    back = push(database, [spec("a", "one")], "ann")[0]
    assert (back.status, back.version, back.previous) == ("reverted", 1, 2)
    assert get_version(database, Reference("a", label="latest")).version == 1
    assert push(database, [spec("a", "three")], "ann")[0].version == 3


def test_versions_are_immutable_records_of_their_content(database: Database) -> None:
    push(database, [spec("a", "one")], "ann")
    push(database, [spec("a", "two")], "ann")
    v1 = get_version(database, Reference("a", version=1))
    assert v1.content["messages"][0]["content"] == "one" and v1.created_by == "ann"
    assert len(v1.content_hash) == 64


def test_rollback_walks_back_through_the_labels_history(database: Database) -> None:
    for text in ("one", "two", "three"):
        push(database, [spec("a", text)], "ann")
    for version in (1, 2, 3):
        release(database, "a", version, actor="ann")
    assert rollback(database, "a", actor="bob").to_version == 2
    assert rollback(database, "a", actor="bob").to_version == 1
    with pytest.raises(ReleaseRefused, match="no earlier version"):
        rollback(database, "a", actor="bob")
    release(database, "a", 3, actor="ann")
    assert rollback(database, "a", actor="bob").to_version == 1


def test_every_label_move_is_audited_with_who_when_from_and_to(database: Database) -> None:
    push(database, [spec("a", "one")], "ann")
    push(database, [spec("a", "two")], "ann")
    release(database, "a", 1, actor="ann")
    release(database, "a", 2, actor="bob")
    rollback(database, "a", actor="cy")
    moves = [(e.actor, e.action, e.target, e.from_value, e.to_value) for e in history(database, "a")]
    assert moves == [
        ("ann", "prompt.push", "prompt:a@latest", None, "1"),
        ("ann", "prompt.push", "prompt:a@latest", "1", "2"),
        ("ann", "prompt.release", "prompt:a@production", None, "1"),
        ("bob", "prompt.release", "prompt:a@production", "1", "2"),
        ("cy", "prompt.rollback", "prompt:a@production", "2", "1"),
    ]
    assert all(isinstance(e.created_at, datetime) for e in history(database, "a"))


def test_a_canary_is_promoted_or_ended_and_labels_are_independent(database: Database) -> None:
    for text in ("one", "two", "three"):
        push(database, [spec("a", text)], "ann")
    release(database, "a", 1, actor="ann")
    release(database, "a", 3, label="staging", actor="ann")
    with pytest.raises(ReleaseRefused, match="already is `production`"):
        release(database, "a", 1, canary=10, actor="ann")
    started = release(database, "a", 2, canary=10, actor="ann")
    assert (started.action, started.to_version, started.canary_percent) == ("prompt.canary", 2, 10)
    ended = rollback(database, "a", actor="bob")
    assert (ended.action, ended.from_version) == ("prompt.canary_end", 2)
    assert get_version(database, Reference("a")).version == 1
    release(database, "a", 2, canary=25, actor="ann")
    promoted = promote(database, "a", actor="ann")
    assert (promoted.from_version, promoted.to_version) == (1, 2)
    assert get_version(database, Reference("a")).version == 2
    assert get_version(database, Reference("a", label="staging")).version == 3
    with pytest.raises(ReleaseRefused, match="no canary"):
        promote(database, "a", actor="ann")
    assert rollback(database, "a", actor="bob").to_version == 1


def test_labels_that_cannot_be_moved_by_hand_are_refused(database: Database) -> None:
    push(database, [spec("a")], "ann")
    with pytest.raises(ReleaseRefused, match="latest"):
        release(database, "a", 1, label="latest", actor="ann")
    with pytest.raises(ReleaseRefused, match="invalid label"):
        release(database, "a", 1, label="Prod!", actor="ann")
    with pytest.raises(ReleaseRefused, match="nothing to split"):
        release(database, "a", 1, canary=10, actor="ann")
    with pytest.raises(LabelNotFound):
        rollback(database, "a", label="staging", actor="ann")


def _eval_run(database: Database, name: str, version: int, suite: str, passed: bool) -> None:
    with database.session() as session, session.begin():
        session.add(EvalRun(
            run_id=uuid.uuid4().hex[:32], created_at=datetime.now(UTC), suite=suite, suite_hash="0" * 64,
            prompt_name=name, prompt_version=version, passed=passed, pass_rate=1.0 if passed else 0.5,
            mean_score=0.9 if passed else 0.4, total=10, passed_count=10 if passed else 5,
            failed_count=0 if passed else 5, error_count=0, duration_s=1.0,
        ))


def test_release_gate_refuses_production_until_the_suite_passed(database: Database) -> None:
    push(database, [spec("g", eval_suite="g-suite")], "ann")
    with pytest.raises(ReleaseRefused, match="no eval run of suite 'g-suite'"):
        release(database, "g", 1, actor="ann")
    _eval_run(database, "g", 1, "g-suite", passed=False)
    with pytest.raises(ReleaseRefused, match="did not pass"):
        release(database, "g", 1, actor="ann")
    release(database, "g", 1, label="staging", actor="ann")  # only production is gated
    _eval_run(database, "g", 1, "g-suite", passed=True)
    move = release(database, "g", 1, actor="ann")
    assert move.detail["gate_passed"] is True and "forced" not in move.detail


def test_a_forced_release_past_a_failed_gate_is_written_to_the_audit_log(database: Database) -> None:
    push(database, [spec("g", eval_suite="g-suite")], "ann")
    _eval_run(database, "g", 1, "g-suite", passed=False)
    release(database, "g", 1, force=True, actor="mallory")
    with database.session() as session:
        entry = session.exec(
            select(AuditLog).where(col(AuditLog.action) == "prompt.release").order_by(col(AuditLog.id).desc())
        ).first()
    assert entry is not None
    assert (entry.actor, entry.target, entry.to_value) == ("mallory", "prompt:g@production", "1")
    assert entry.detail["forced"] is True and entry.detail["gate_passed"] is False
    assert "did not pass" in entry.detail["gate"]


def test_canaries_and_promotions_to_production_pass_the_gate_too(database: Database) -> None:
    push(database, [spec("g", "one", eval_suite="s")], "ann")
    push(database, [spec("g", "two", eval_suite="s")], "ann")
    _eval_run(database, "g", 1, "s", passed=True)
    release(database, "g", 1, actor="ann")
    with pytest.raises(ReleaseRefused, match="no eval run"):
        release(database, "g", 2, canary=10, actor="ann")
    release(database, "g", 2, canary=10, force=True, actor="ann")
    with pytest.raises(ReleaseRefused, match="no eval run"):
        promote(database, "g", actor="ann")
    _eval_run(database, "g", 2, "s", passed=True)
    assert promote(database, "g", actor="ann").to_version == 2
