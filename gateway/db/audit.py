"""The audit log: one row per admin action (a prompt label moved, a release forced, a key revoked, ...).

Any feature records its admin actions here with ``record_audit``. A row says who did what, to which target,
from which value to which, with free-form detail. Rows are only ever appended.

``target`` is a short, greppable name of the thing acted on, prefixed by its kind, e.g.
``prompt:support-reply@production`` or ``key:k_123``; ``from_value`` / ``to_value`` are the before and after as
text (a version number, a state), or null when there is none.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, Session, SQLModel


def utcnow() -> datetime:
    """Now, in UTC, time-zone aware (SQLModel's datetime columns refuse naive values)."""
    return datetime.now(UTC)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_created_at", "created_at"),
        Index("ix_audit_log_target_created", "target", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(default_factory=utcnow)
    actor: str = Field(max_length=255)
    action: str = Field(max_length=64)
    target: str = Field(max_length=512)
    from_value: str | None = Field(default=None, max_length=255)
    to_value: str | None = Field(default=None, max_length=255)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    target: str,
    from_value: str | int | None = None,
    to_value: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditLog:
    """Add one audit row to ``session``; the caller commits it with the change it describes."""
    row = AuditLog(
        actor=actor,
        action=action,
        target=target,
        from_value=None if from_value is None else str(from_value),
        to_value=None if to_value is None else str(to_value),
        detail=detail or {},
    )
    session.add(row)
    return row
