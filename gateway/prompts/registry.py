"""The prompt registry's reads and its one write besides label moves: ``push``.

Synchronous (the CLI calls it directly, the admin API through ``asyncio.to_thread``). Versions are immutable and
numbered per prompt; a version's identity is its content hash, so pushing unchanged content adds nothing. A push
that brings back the content of an older version moves ``latest`` back to that version instead of copying it.
Every move of ``latest`` is audited like any other label move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from gateway.db import Database
from gateway.db.audit import AuditLog, record_audit, utcnow
from gateway.db.prompts import Prompt, PromptLabel, PromptVersion
from gateway.prompts.errors import LabelNotFound, PromptNotFound, VersionNotFound
from gateway.prompts.reference import Reference
from gateway.prompts.spec import PromptSpec, content_hash

LATEST = "latest"


def audit_target(name: str, label: str) -> str:
    return f"prompt:{name}@{label}"


@dataclass(slots=True)
class PushResult:
    name: str
    status: str  # "created", "new version", "unchanged", "reverted"
    version: int
    previous: int | None = None


@dataclass(slots=True)
class LabelInfo:
    label: str
    version: int
    canary_version: int | None
    canary_percent: float | None
    updated_at: datetime
    updated_by: str


@dataclass(slots=True)
class PromptSummary:
    name: str
    versions: int
    labels: list[LabelInfo] = field(default_factory=list)


@dataclass(slots=True)
class VersionInfo:
    name: str
    version: int
    content_hash: str
    content: dict[str, Any]
    eval_suite: str | None
    created_at: datetime
    created_by: str
    source: str | None
    labels: list[str] = field(default_factory=list)


def push(database: Database, specs: list[tuple[str, PromptSpec]], actor: str) -> list[PushResult]:
    """Sync prompt files into the registry, all or nothing. ``specs`` are (source file, spec) pairs."""
    results = []
    with database.session() as session, session.begin():
        for source, spec in specs:
            results.append(_push_one(session, source, spec, actor))
    return results


def _push_one(session: Session, source: str, spec: PromptSpec, actor: str) -> PushResult:
    prompt = session.exec(select(Prompt).where(col(Prompt.name) == spec.name)).first()
    created = prompt is None
    if prompt is None:
        prompt = Prompt(name=spec.name, created_by=actor)
        session.add(prompt)
        session.flush()
    assert prompt.id is not None
    content = spec.content()
    digest = content_hash(content)
    latest = label_row(session, prompt.id, LATEST, lock=True)
    same = session.exec(
        select(PromptVersion).where(
            col(PromptVersion.prompt_id) == prompt.id, col(PromptVersion.content_hash) == digest
        )
    ).first()
    previous = latest.version if latest else None
    if same is not None:
        if previous == same.version:
            return PushResult(spec.name, "unchanged", same.version, previous)
        number, status = same.version, "reverted"
    else:
        newest = session.exec(
            select(func.max(PromptVersion.version)).where(col(PromptVersion.prompt_id) == prompt.id)
        ).one()
        number, status = (newest or 0) + 1, "created" if created else "new version"
        session.add(
            PromptVersion(
                prompt_id=prompt.id, version=number, content_hash=digest, content=content,
                eval_suite=spec.eval_suite, source=source[:1024], created_by=actor,
            )
        )
    move_label(session, prompt.id, LATEST, number, actor, latest)
    record_audit(
        session, actor=actor, action="prompt.push", target=audit_target(spec.name, LATEST),
        from_value=previous, to_value=number, detail={"hash": digest, "source": source, "status": status},
    )
    return PushResult(spec.name, status, number, previous)


def label_row(session: Session, prompt_id: int, label: str, *, lock: bool = False) -> PromptLabel | None:
    query = select(PromptLabel).where(col(PromptLabel.prompt_id) == prompt_id, col(PromptLabel.label) == label)
    if lock:
        query = query.with_for_update()
    return session.exec(query).first()


def move_label(
    session: Session, prompt_id: int, label: str, version: int, actor: str, row: PromptLabel | None
) -> PromptLabel:
    """Point ``label`` at ``version`` (creating it), clearing any canary; bumps the revision replicas watch."""
    if row is None:
        row = PromptLabel(prompt_id=prompt_id, label=label, version=version, updated_by=actor, revision=1)
    else:
        row.version = version
        row.revision += 1
        row.updated_at, row.updated_by = utcnow(), actor
    row.canary_version = row.canary_percent = row.canary_started_at = None
    session.add(row)
    return row


def prompt_row(session: Session, name: str) -> Prompt:
    prompt = session.exec(select(Prompt).where(col(Prompt.name) == name)).first()
    if prompt is None:
        raise PromptNotFound(f"unknown prompt `{name}`")
    return prompt


def version_row(session: Session, prompt: Prompt, number: int) -> PromptVersion:
    row = session.exec(
        select(PromptVersion).where(col(PromptVersion.prompt_id) == prompt.id, col(PromptVersion.version) == number)
    ).first()
    if row is None:
        raise VersionNotFound(f"prompt `{prompt.name}` has no version {number}")
    return row


def resolve_number(session: Session, prompt: Prompt, ref: Reference) -> int:
    """The version number ``ref`` names (a label's main target, never its canary)."""
    if ref.version is not None:
        return ref.version
    assert prompt.id is not None
    label = ref.label or "production"
    row = label_row(session, prompt.id, label)
    if row is None:
        raise LabelNotFound(f"prompt `{prompt.name}` has no label `{label}`")
    return row.version


def list_prompts(database: Database) -> list[PromptSummary]:
    with database.session() as session:
        counts: dict[int, int] = dict(
            session.exec(
                select(PromptVersion.prompt_id, func.count(col(PromptVersion.id))).group_by(
                    col(PromptVersion.prompt_id)
                )
            ).all()
        )
        summaries = {p.id: PromptSummary(p.name, counts.get(p.id or 0, 0)) for p in session.exec(select(Prompt))}
        for row in session.exec(select(PromptLabel).order_by(col(PromptLabel.label))):
            summaries[row.prompt_id].labels.append(_label_info(row))
    return sorted(summaries.values(), key=lambda s: s.name)


def get_version(database: Database, ref: Reference) -> VersionInfo:
    with database.session() as session:
        prompt = prompt_row(session, ref.name)
        row = version_row(session, prompt, resolve_number(session, prompt, ref))
        labels = session.exec(
            select(PromptLabel.label).where(
                col(PromptLabel.prompt_id) == prompt.id, col(PromptLabel.version) == row.version
            )
        ).all()
        return VersionInfo(
            prompt.name, row.version, row.content_hash, row.content, row.eval_suite, row.created_at,
            row.created_by, row.source, sorted(labels),
        )


def history(database: Database, name: str) -> list[AuditLog]:
    """Every audited move of the prompt's labels, oldest first."""
    with database.session() as session:
        prompt_row(session, name)
        prefix = audit_target(name, "")
        query = select(AuditLog).where(col(AuditLog.target).startswith(prefix, autoescape=True))
        return list(session.exec(query.order_by(col(AuditLog.id))))


def _label_info(row: PromptLabel) -> LabelInfo:
    return LabelInfo(row.label, row.version, row.canary_version, row.canary_percent, row.updated_at, row.updated_by)
