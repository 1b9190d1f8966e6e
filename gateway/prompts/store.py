"""Read the registry in bulk for the serving cache: everything at once, and a cheap "has anything changed?" token.

Both are synchronous (SQLAlchemy's sync engine); the cache calls them through ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, func, select

from gateway.db import Database
from gateway.db.prompts import Prompt, PromptLabel, PromptVersion

Token = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class VersionRow:
    name: str
    version: int
    content_hash: str
    content: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LabelRow:
    version: int
    canary_version: int | None = None
    canary_percent: float | None = None


@dataclass(slots=True)
class PromptRows:
    versions: dict[int, VersionRow] = field(default_factory=dict)
    labels: dict[str, LabelRow] = field(default_factory=dict)


def change_token(session: Session) -> Token:
    """(newest version id, number of labels, sum of label revisions): any push or label move changes it."""
    newest = session.exec(select(func.max(PromptVersion.id))).one()
    count, revisions = session.exec(
        select(func.count(col(PromptLabel.id)), func.coalesce(func.sum(PromptLabel.revision), 0))
    ).one()
    return int(newest or 0), int(count or 0), int(revisions or 0)


def read_all(database: Database) -> tuple[Token, dict[str, PromptRows]]:
    """Every prompt with its versions and labels, and the token they were read at, in one transaction."""
    with database.session() as session, session.begin():
        token = change_token(session)
        names: dict[int | None, str] = dict(session.exec(select(Prompt.id, Prompt.name)).all())
        prompts: dict[str, PromptRows] = {name: PromptRows() for name in names.values()}
        for version in session.exec(select(PromptVersion)):
            name = names[version.prompt_id]
            prompts[name].versions[version.version] = VersionRow(
                name, version.version, version.content_hash, version.content
            )
        for label in session.exec(select(PromptLabel)):
            prompts[names[label.prompt_id]].labels[label.label] = LabelRow(
                label.version, label.canary_version, label.canary_percent
            )
    return token, prompts


def read_token(database: Database) -> Token:
    with database.session() as session:
        return change_token(session)
