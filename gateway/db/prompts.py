"""The prompt registry's tables: prompts, their immutable versions, and labels (movable pointers).

* ``prompts``: one row per prompt name.
* ``prompt_versions``: numbered 1, 2, 3... per prompt, identified by the sha256 of their canonical content; a
  version is never changed once written. ``content`` is the validated prompt file minus its name.
* ``prompt_labels``: ``production``, ``staging``, ``latest`` (moved by every push), any other name; each points
  at one version and may carry a canary (another version and the percentage of traffic it gets). ``revision``
  grows by one on every change, so a replica can tell cheaply whether anything moved.

Every label move is also written to ``audit_log`` (``gateway.db.audit``) with who, when, from and to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from gateway.db.audit import utcnow


class Prompt(SQLModel, table=True):
    __tablename__ = "prompts"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255, unique=True)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=255)


class PromptVersion(SQLModel, table=True):
    __tablename__ = "prompt_versions"
    __table_args__ = (
        UniqueConstraint("prompt_id", "version", name="ux_prompt_versions_number"),
        UniqueConstraint("prompt_id", "content_hash", name="ux_prompt_versions_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(sa_column=Column(Integer, ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False))
    version: int
    content_hash: str = Field(max_length=64)
    content: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    eval_suite: str | None = Field(default=None, max_length=255)
    source: str | None = Field(default=None, max_length=1024)
    created_at: datetime = Field(default_factory=utcnow)
    created_by: str = Field(default="", max_length=255)


class PromptLabel(SQLModel, table=True):
    __tablename__ = "prompt_labels"
    __table_args__ = (UniqueConstraint("prompt_id", "label", name="ux_prompt_labels_label"),)

    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(sa_column=Column(Integer, ForeignKey("prompts.id", ondelete="CASCADE"), nullable=False))
    label: str = Field(max_length=64)
    version: int
    canary_version: int | None = None
    canary_percent: float | None = None
    canary_started_at: datetime | None = None
    revision: int = 1
    updated_at: datetime = Field(default_factory=utcnow)
    updated_by: str = Field(default="", max_length=255)
