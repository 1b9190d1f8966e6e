"""Virtual keys and teams.

A key is stored only as the SHA-256 of its secret (``key_hash``) plus a short, non-secret ``key_prefix`` for
display; the secret itself exists only in the answer to ``create``/``rotate``. Every write bumps the single row of
``key_store_version`` in the same transaction, so gateways can tell "something changed" with one tiny query
(see ``gateway.keys.cache``). Times are timezone-aware UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index
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
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    created_at: datetime
    rotated_at: datetime | None = None
    updated_at: datetime


class KeyStoreVersion(SQLModel, table=True):
    """One row (id 1) whose ``version`` grows with every change to keys or teams."""

    __tablename__ = "key_store_version"

    id: int = Field(default=1, primary_key=True)
    version: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
