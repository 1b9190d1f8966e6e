"""What a key or a team is asked to be (validated specs), and how one is shown (views without secrets).

The CLI and the admin API build the same specs, so both validate alike and the store has one entry point.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from gateway.db.keys import Team, VirtualKey

Period = Literal["daily", "weekly", "monthly"]
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_NAME_LENGTH = 255
MAX_INT = 2**31 - 1  # rpm and tpm are 32-bit integer columns


def utcnow() -> datetime:
    return datetime.now(UTC)


def parse_expiry(value: str, now: datetime | None = None) -> datetime:
    """``30d``, ``12h``, ``2w``... from now, or an ISO date/time (taken as UTC when it has no zone)."""
    now = now or utcnow()
    match = _DURATION.match(value)
    try:
        if match:
            return now + timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
        moment = datetime.fromisoformat(value.strip())
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError as exc:
        raise ValueError(f"{_shown(value)} is beyond the dates this gateway can store") from exc
    except ValueError as exc:
        raise ValueError(f"{_shown(value)} is neither a duration like 30d / 12h nor an ISO date") from exc


def printable_name(value: str) -> str:
    """Names and references end up in database columns and log lines: no control characters (a NUL would make
    PostgreSQL refuse the write), at most 255 characters."""
    if len(value) > MAX_NAME_LENGTH or not value.isprintable():
        raise ValueError(f"must be at most {MAX_NAME_LENGTH} printable characters (no control characters)")
    return value


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(printable_name)]


class _Limits(BaseModel):
    model_config = ConfigDict(extra="forbid")

    models: list[Annotated[str, AfterValidator(printable_name)]] | None = None
    budget_usd: float | None = Field(default=None, ge=0)
    budget_period: Period = "monthly"
    rpm: int | None = Field(default=None, ge=0, le=MAX_INT)
    tpm: int | None = Field(default=None, ge=0, le=MAX_INT)
    #: Guardrail policies (names from the config's gateway.guardrails) every request of this key or team gets.
    guardrails: list[Annotated[str, AfterValidator(printable_name)]] | None = None

    @field_validator("models")
    @classmethod
    def _clean_models(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        cleaned = [m.strip() for m in value if m.strip()]
        return cleaned or None


class TeamSpec(_Limits):
    name: Name


class TeamUpdate(BaseModel):
    """Only the fields given change; an explicit ``null`` removes a limit."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    models: list[Annotated[str, AfterValidator(printable_name)]] | None = None
    budget_usd: float | None = Field(default=None, ge=0)
    budget_period: Period | None = None
    rpm: int | None = Field(default=None, ge=0, le=MAX_INT)
    tpm: int | None = Field(default=None, ge=0, le=MAX_INT)
    guardrails: list[Annotated[str, AfterValidator(printable_name)]] | None = None

    def changes(self) -> dict[str, Any]:
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        if changes.get("name", "") is None or changes.get("budget_period", "") is None:
            raise ValueError("name and budget_period cannot be removed")
        return changes


class KeySpec(_Limits):
    name: Name
    team: Annotated[str, AfterValidator(printable_name)] | None = Field(default=None, description="team id or name")
    expires: str | None = Field(default=None, description="a duration from now (30d, 12h) or an ISO date")
    store_content: bool = False

    @field_validator("expires")
    @classmethod
    def _valid_expiry(cls, value: str | None) -> str | None:
        if value is not None:
            parse_expiry(value)
        return value


def key_status(row: VirtualKey, now: datetime | None = None) -> str:
    now = now or utcnow()
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        return "expired"
    return "active"


def key_view(row: VirtualKey, team_name: str | None = None) -> dict[str, Any]:
    """A key as the list and the admin API show it: never its secret, only its display prefix."""
    return {
        "id": row.id,
        "name": row.name,
        "key_prefix": row.key_prefix + "…",
        "status": key_status(row),
        "team_id": row.team_id,
        "team": team_name,
        "models": row.models,
        "budget_usd": row.budget_usd,
        "budget_period": row.budget_period,
        "rpm": row.rpm,
        "tpm": row.tpm,
        "store_content": row.store_content,
        "guardrails": row.guardrails,
        "expires_at": _iso(row.expires_at),
        "revoked_at": _iso(row.revoked_at),
        "created_at": _iso(row.created_at),
        "rotated_at": _iso(row.rotated_at),
    }


def team_view(row: Team) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "models": row.models,
        "budget_usd": row.budget_usd,
        "budget_period": row.budget_period,
        "rpm": row.rpm,
        "tpm": row.tpm,
        "guardrails": row.guardrails,
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _aware(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return aware.isoformat(timespec="seconds").replace("+00:00", "Z")
