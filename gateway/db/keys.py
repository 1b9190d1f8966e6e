"""Virtual keys and teams.

A key is stored only as the SHA-256 of its secret (``key_hash``) plus a short, non-secret ``key_prefix`` for
display; the secret itself exists only in the answer to ``create``/``rotate``. Every write bumps the single row of
``key_store_version`` in the same transaction, so gateways can tell "something changed" with one tiny query
(see ``gateway.keys.cache``). Times are timezone-aware UTC.

``key_store_version`` (columns ``id``, always 1, and ``version``) has no model: migration ``0003_keys`` creates it
and ``gateway.keys.store`` reads and bumps it with plain SQL, the only code that touches it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255, unique=True)
    models: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    budget_usd: float | None = None
    budget_period: str = Field(default="monthly", max_length=16)
    rpm: int | None = None
    tpm: int | None = None
    guardrails: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # policy names
    created_at: datetime
    updated_at: datetime


class VirtualKey(SQLModel, table=True):
    __tablename__ = "virtual_keys"
    __table_args__ = (Index("ix_virtual_keys_name", "name"), Index("ix_virtual_keys_team", "team_id"))

    id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=255)
    key_hash: str = Field(max_length=64, unique=True)
    key_prefix: str = Field(max_length=16)
    team_id: str | None = Field(default=None, max_length=64, foreign_key="teams.id")
    models: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    budget_usd: float | None = None
    budget_period: str = Field(default="monthly", max_length=16)
    rpm: int | None = None
    tpm: int | None = None
    store_content: bool = False
    guardrails: list[str] | None = Field(default=None, sa_column=Column(JSON, nullable=True))  # policy names
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime
    rotated_at: datetime | None = None
    updated_at: datetime
