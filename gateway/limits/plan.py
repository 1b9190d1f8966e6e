"""Which counters one request touches, and how their state reads to the client (headers, 429 messages).

A *slot* is one limit of one scope (key or team): rpm, tpm or budget, with the counter check that enforces it.
Counter names: ``rpm:key:<id>``, ``tpm:team:<id>``, ``budget:key:<id>:<period>:<yyyymmdd of period start>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.errors import RateLimited
from gateway.limits.counters import Check, Taken
from gateway.limits.periods import format_duration, iso_z, period_bounds
from gateway.pipeline.context import Limits, Principal

Metric = Literal["rpm", "tpm", "budget"]
_METRIC_TEXT = {"rpm": "requests per minute (RPM)", "tpm": "tokens per minute (TPM)"}


@dataclass(frozen=True, slots=True)
class Scope:
    kind: Literal["key", "team"]
    id: str
    name: str | None
    limits: Limits

    @property
    def label(self) -> str:
        return f"{self.kind} '{self.name}' ({self.id})" if self.name else f"{self.kind} {self.id}"


@dataclass(frozen=True, slots=True)
class Slot:
    scope: Scope
    metric: Metric
    check: Check
    period: tuple[datetime, datetime] | None = None  # budgets only


def scopes_of(principal: Principal) -> list[Scope]:
    scopes: list[Scope] = []
    if principal.key_id and principal.key_limits.any:
        scopes.append(Scope("key", principal.key_id, principal.key_name, principal.key_limits))
    if principal.team_id and principal.team_limits.any:
        scopes.append(Scope("team", principal.team_id, principal.team_name, principal.team_limits))
    return scopes


def slots_for(scope: Scope, tokens: int, cost: float | None, now: datetime) -> list[Slot]:
    limits, base = scope.limits, f"{scope.kind}:{scope.id}"
    slots: list[Slot] = []
    if limits.rpm is not None:
        slots.append(Slot(scope, "rpm", Check(f"rpm:{base}", "rate", limits.rpm, 1)))
    if limits.tpm is not None:
        slots.append(Slot(scope, "tpm", Check(f"tpm:{base}", "rate", limits.tpm, max(1, tokens))))
    if limits.budget_usd is not None:
        start, end = period_bounds(limits.budget_period, now)
        key = budget_counter(scope.kind, scope.id, limits.budget_period, start)
        check = Check(key, "budget", limits.budget_usd, cost or 0.0, end.timestamp())
        slots.append(Slot(scope, "budget", check, (start, end)))
    return slots


def budget_counter(kind: str, scope_id: str, period: str, start: datetime) -> str:
    return f"budget:{kind}:{scope_id}:{period}:{start:%Y%m%d}"


def rate_headers(slots: list[Slot], levels: tuple[float, ...]) -> dict[str, str]:
    """OpenAI's ``x-ratelimit-*`` headers from the tightest key/team limit, plus the budget left."""
    headers: dict[str, str] = {}
    for metric, suffix in (("rpm", "requests"), ("tpm", "tokens")):
        candidates = [(levels[i], s) for i, s in enumerate(slots) if s.metric == metric]
        if not candidates:
            continue
        level, slot = min(candidates, key=lambda pair: pair[0])
        limit = slot.check.limit
        headers[f"x-ratelimit-limit-{suffix}"] = str(int(limit))
        headers[f"x-ratelimit-remaining-{suffix}"] = str(max(0, math.floor(level)))
        headers[f"x-ratelimit-reset-{suffix}"] = format_duration(_refill_seconds(limit, level))
    budgets = [s.check.limit - levels[i] for i, s in enumerate(slots) if s.metric == "budget"]
    if budgets:
        headers["x-gateway-budget-remaining-usd"] = f"{max(0.0, min(budgets)):.6f}"
    return headers


def refusal(slot: Slot, taken: Taken, now: datetime) -> RateLimited:
    """The 429 for the limit that refused: which scope, which limit, and when it resets."""
    level = taken.levels[taken.failed or 0] if taken.levels else 0.0
    limit = slot.check.limit
    if slot.metric == "budget":
        assert slot.period is not None
        _, end = slot.period
        seconds = max(1.0, (end - now).total_seconds())
        message = (
            f"Budget exceeded for {slot.scope.label}: ${level:.6g} of its {slot.scope.limits.budget_period} budget "
            f"of ${limit:.6g} is spent or reserved. The budget resets at {iso_z(end)} (in "
            f"{format_duration(seconds)})."
        )
        return RateLimited(message, code="budget_exceeded", headers={"Retry-After": str(math.ceil(seconds))})
    suffix = "requests" if slot.metric == "rpm" else "tokens"
    headers = {
        f"x-ratelimit-limit-{suffix}": str(int(limit)),
        f"x-ratelimit-remaining-{suffix}": "0",
        f"x-ratelimit-reset-{suffix}": format_duration(_refill_seconds(limit, level)),
    }
    if limit <= 0:
        message = f"Rate limit reached for {slot.scope.label}: its {_METRIC_TEXT[slot.metric]} limit is 0."
        return RateLimited(message, headers=headers)
    wait = max(taken.wait, 0.001)
    headers["Retry-After"] = str(math.ceil(wait))
    message = (
        f"Rate limit reached for {slot.scope.label} on {_METRIC_TEXT[slot.metric]}: Limit {int(limit)}, "
        f"Remaining {max(0, math.floor(level))}. Please try again in {format_duration(wait)}."
    )
    return RateLimited(message, headers=headers)


def _refill_seconds(limit: float, level: float) -> float:
    return max(0.0, (limit - level) * 60 / limit) if limit > 0 else 0.0
