"""The counters behind limits and budgets, and their in-process implementation.

Two kinds of counter, with the same rules here and in the Redis scripts (``redis_counters``):

* **rate** (RPM, TPM): a token bucket holding at most ``limit``, refilled at ``limit`` per 60 s. A check passes
  when at least one token is left, and takes ``min(amount, tokens)``. So RPM is exact, and TPM lets a request
  start while anything is left; the real token count settled afterwards may push the bucket into debt, which
  holds later requests back until it refills. A missing bucket is a full one.
* **budget** (USD per period): ``spent`` (settled cost) and ``reserved`` (in-flight estimates). A check passes
  when its estimate fits in what is left, and reserves it; settling releases the reservation and adds the real
  cost. When the estimate does not fit but something is left, the request may take the rest only if no other
  request of that budget is in flight (the last of a budget goes to a request running alone). An estimate at
  least as high as the real cost can then never let spend pass the budget; a low one (no ``max_tokens``, no known
  price) can, by at most that one request's excess.

``take`` is all-or-nothing over a list of checks (key, team, ...): if one fails, none is applied.

Seeding (spend this counter did not see, see ``seed``): a budget counter keeps ``added`` (every cost settled into
it since it was created) and ``floor`` (spend from before that), and ``spent = floor + added``. A seed is a view of
the whole spend so far (the database's roll-ups): it raises ``floor`` to ``view - added`` when that is higher, and
never lowers it. So seeding is idempotent (a second replica seeding the same view changes nothing), a counter that
has been counting since the period began is left alone (its ``added`` already holds the view), and one created
mid-period (first start, or after Redis lost its data) gets the spend from before it. A view that lags (records
not yet written) only ever counts too little of the past, never a request twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Kind = Literal["rate", "budget"]
#: Spend within this fraction of the limit counts as the whole budget (sums of float costs are not exact).
BUDGET_EPSILON = 1e-9
_PRUNE_EVERY = 1024


@dataclass(frozen=True, slots=True)
class Check:
    key: str
    kind: Kind
    limit: float
    amount: float
    expire_at: float = 0.0  # budget: epoch seconds when the period (and the counter) ends


@dataclass(frozen=True, slots=True)
class Taken:
    """``levels``: per check, tokens left (rate) or spent + reserved (budget), after taking (or now, if refused).

    ``taken``: what each check took (to give back when settling). ``wait``: for a refused rate check, the seconds
    until a token is back.
    """

    ok: bool
    levels: tuple[float, ...] = ()
    taken: tuple[float, ...] = ()
    failed: int | None = None
    wait: float = 0.0
    source: str = "local"


@dataclass(frozen=True, slots=True)
class Settle:
    """Rate: ``give_back`` tokens (negative takes more). Budget: release ``give_back``, add ``spend``."""

    key: str
    kind: Kind
    limit: float
    give_back: float
    spend: float = 0.0
    expire_at: float = 0.0


class Counters(Protocol):
    def source(self) -> str:
        """Where a ``take`` made now would be counted ("redis" or "local")."""

    async def take(self, checks: Sequence[Check]) -> Taken: ...

    async def settle(self, items: Sequence[Settle], source: str) -> tuple[float, ...] | None:
        """Per item: tokens now (rate) or spent now (budget); ``None`` when the counters could not be reached."""

    async def seed(self, key: str, spent: float, expire_at: float) -> None:
        """Raise the counter's past spend so that it holds at least ``spent`` (a view of the whole period)."""

    async def aclose(self) -> None:
        """Stop background work (probes, reconciles)."""


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class _Budget:
    expire_at: float
    spent: float = 0.0  # floor + added
    reserved: float = 0.0
    floor: float = 0.0
    added: float = 0.0

    def raise_floor(self, floor: float) -> None:
        if floor > self.floor:
            self.spent += floor - self.floor
            self.floor = floor


@dataclass(slots=True)
class LocalCounters:
    """Counters of this process only. Every method runs without awaiting, so each call is atomic on the loop."""

    clock: Callable[[], float] = time.time
    _buckets: dict[str, _Bucket] = field(default_factory=dict)
    _budgets: dict[str, _Budget] = field(default_factory=dict)
    _ops: int = 0

    def source(self) -> str:
        return "local"

    async def take(self, checks: Sequence[Check]) -> Taken:
        return self.take_now(checks)

    def take_now(self, checks: Sequence[Check]) -> Taken:
        now = self.clock()
        self._maybe_prune(now)
        levels: list[float] = []
        for index, check in enumerate(checks):
            if check.kind == "rate":
                tokens = self._tokens(check.key, check.limit, now)
                levels.append(tokens)
                if tokens < 1:
                    return Taken(False, tuple(levels), failed=index, wait=(1 - tokens) * 60 / check.limit)
            else:
                used, reserved = self._used(check.key, now)
                levels.append(used)
                crowded = used + check.amount > check.limit and reserved > check.limit * BUDGET_EPSILON
                if used >= check.limit * (1 - BUDGET_EPSILON) or crowded:
                    return Taken(False, tuple(levels), failed=index)
        taken: list[float] = []
        for index, check in enumerate(checks):
            if check.kind == "rate":
                amount = min(check.amount, levels[index])
                self._buckets[check.key] = _Bucket(levels[index] - amount, now)
                levels[index] -= amount
            else:
                amount = min(check.amount, check.limit - levels[index])
                budget = self._budget(check.key, check.expire_at, now)
                budget.reserved += amount
                budget.expire_at = check.expire_at
                levels[index] += amount
            taken.append(amount)
        return Taken(True, tuple(levels), tuple(taken))

    async def settle(self, items: Sequence[Settle], source: str = "local") -> tuple[float, ...]:
        now = self.clock()
        out: list[float] = []
        for item in items:
            if item.kind == "rate":
                tokens = min(item.limit, self._tokens(item.key, item.limit, now) + item.give_back)
                self._buckets[item.key] = _Bucket(tokens, now)
                out.append(tokens)
            else:
                budget = self._budget(item.key, item.expire_at, now)
                budget.reserved = max(0.0, budget.reserved - item.give_back)
                budget.spent += item.spend
                budget.added += item.spend
                out.append(budget.spent)
        return tuple(out)

    async def aclose(self) -> None:
        return None

    async def seed(self, key: str, spent: float, expire_at: float) -> None:
        budget = self._budget(key, expire_at, self.clock())
        budget.raise_floor(spent - budget.added)

    def hold_at_least(self, key: str, level: float, expire_at: float) -> None:
        """Failover: the budget counts from ``level`` (spend last seen in Redis) unless it holds more already."""
        budget = self._budget(key, expire_at, self.clock())
        budget.raise_floor(budget.floor + level - budget.spent - budget.reserved)

    def hold_at_most(self, key: str, limit: float, tokens: float, at: float) -> None:
        """Failover: the bucket holds no more than ``tokens`` had at ``at`` (last seen in Redis) refilled to now."""
        now = self.clock()
        seen = min(limit, tokens + max(0.0, now - at) * limit / 60)
        if seen < self._tokens(key, limit, now):
            self._buckets[key] = _Bucket(seen, now)

    def tokens(self, key: str, limit: float) -> float:
        return self._tokens(key, limit, self.clock())

    def _budget(self, key: str, expire_at: float, now: float) -> _Budget:
        budget = self._budgets.get(key)
        if budget is None or budget.expire_at <= now:
            budget = self._budgets[key] = _Budget(expire_at)
        return budget

    def _tokens(self, key: str, limit: float, now: float) -> float:
        bucket = self._buckets.get(key)
        if bucket is None:
            return limit
        return min(limit, bucket.tokens + max(0.0, now - bucket.at) * limit / 60)

    def _used(self, key: str, now: float) -> tuple[float, float]:
        """(spent + reserved, reserved)."""
        budget = self._budgets.get(key)
        if budget is None or budget.expire_at <= now:
            return 0.0, 0.0
        return budget.spent + budget.reserved, budget.reserved

    def _maybe_prune(self, now: float) -> None:
        # Keeps memory bounded by the keys in use: old periods and long-idle buckets (which are full) go.
        self._ops += 1
        if self._ops % _PRUNE_EVERY:
            return
        for key in [k for k, b in self._budgets.items() if b.expire_at <= now]:
            del self._budgets[key]
        for key in [k for k, b in self._buckets.items() if now - b.at > 3600]:
            del self._buckets[key]
