"""Stored Responses API responses: the state behind ``previous_response_id`` and ``GET /v1/responses/{id}``.

One row per response the gateway served with ``store`` on (``gateway.responses_state``). ``input_items`` are the
items the model saw (a chained response's earlier turns included), ``response`` the ``response`` object as the
client got it. Both are user content: they are never logged, only the key that made a response can read it, and a
background task deletes rows once ``expires_at`` has passed (``gateway.responses_retention_days``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel


class StoredResponse(SQLModel, table=True):
    __tablename__ = "stored_responses"
    __table_args__ = (Index("ix_stored_responses_expires", "expires_at"),)

    id: str = Field(primary_key=True, max_length=128)
    owner: str = Field(max_length=64)  # the key id that made it ("master" for the master key, "" without auth)
    model: str = Field(max_length=255)
    created_at: datetime
    expires_at: datetime
    input_items: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    response: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
