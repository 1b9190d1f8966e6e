"""What one process remembers of the shared counters, so that a Redis outage or restart does not reset them.

``Seen``: per counter, the level this process last saw in Redis (tokens left in a bucket, or a budget's spend).
When Redis goes out of reach, the local fallback starts from these levels instead of from a full bucket and an
empty budget; when Redis comes back empty, they are restored into it.

``Apart``: what this process counted on its own while Redis was out of reach (tokens taken, cost settled). It is
added to Redis once when Redis is back (``gateway.limits.redis_counters.RECONCILE``). Taken tokens decay at the
bucket's refill rate (a bucket forgets what was taken more than a minute ago); spend never decays.

Both are bounded by the counters in use: expired budgets and buckets idle for an hour are pruned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gateway.limits.counters import Check, Kind, LocalCounters, Settle, Taken
from gateway.limits.redis_counters import Restore

_PRUNE_EVERY = 1024
_IDLE = 3600.0


@dataclass(slots=True)
class _Level:
    kind: Kind
    limit: float
    level: float
    at: float
    expire_at: float = 0.0

    def now(self, now: float) -> float:
        """Tokens refilled to ``now`` (rate) or the spend (budget)."""
        if self.kind == "budget":
            return self.level
        return min(self.limit, self.level + max(0.0, now - self.at) * self.limit / 60)

    def stale(self, now: float) -> bool:
        return self.expire_at <= now if self.kind == "budget" else now - self.at > _IDLE


@dataclass(slots=True)
class Seen:
    clock: Callable[[], float] = time.time
    levels: dict[str, _Level] = field(default_factory=dict)
    _ops: int = 0

    def taken(self, checks: Sequence[Check], taken: Taken) -> None:
        now = self._tick()
        for index, check in enumerate(checks):
            if index >= len(taken.levels) or (not taken.ok and index != taken.failed):
                continue
            level = taken.levels[index]
            if check.kind == "budget" and taken.ok:
                level -= taken.taken[index]  # spent + others' reservations: this one is settled on its own
            self.levels[check.key] = _Level(check.kind, check.limit, level, now, check.expire_at)

    def settled(self, items: Sequence[Settle], levels: Sequence[float]) -> None:
        now = self._tick()
        for item, level in zip(items, levels, strict=True):
            self.levels[item.key] = _Level(item.kind, item.limit, level, now, item.expire_at)

    def hold(self, local: LocalCounters) -> None:
        """Make the local counters start from the shared levels (never lower a budget, never fill a bucket)."""
        for key, seen in self.levels.items():
            if seen.kind == "budget":
                local.hold_at_least(key, seen.level, seen.expire_at)
            else:
                local.hold_at_most(key, seen.limit, seen.level, seen.at)

    def _tick(self) -> float:
        now = self.clock()
        self._ops += 1
        if self._ops % _PRUNE_EVERY == 0:
            for key in [k for k, v in self.levels.items() if v.stale(now)]:
                del self.levels[key]
        return now


@dataclass(slots=True)
class Apart:
    clock: Callable[[], float] = time.time
    counted: dict[str, _Level] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.counted)

    def taken(self, checks: Sequence[Check], taken: Taken) -> None:
        if not taken.ok:
            return
        for check, amount in zip(checks, taken.taken, strict=True):
            if check.kind == "rate":
                self._add(check.key, "rate", check.limit, amount)

    def settled(self, items: Sequence[Settle]) -> None:
        for item in items:
            if item.kind == "rate":
                self._add(item.key, "rate", item.limit, -item.give_back, item.expire_at)
            elif item.spend:
                self._add(item.key, "budget", item.limit, item.spend, item.expire_at)

    def batch(self, seen: Seen) -> list[Restore]:
        """Everything counted apart, plus every level seen (restored only if Redis lost its data); then forget."""
        now = self.clock()
        restores: dict[str, Restore] = {
            key: Restore(key, level.kind, level.limit, None, level.now(now) if level.kind == "budget" else
                         max(0.0, level.level - (now - level.at) * level.limit / 60), level.expire_at)
            for key, level in self.counted.items()
        }
        for key, level in seen.levels.items():
            if level.stale(now) or (level.kind == "rate" and level.now(now) >= level.limit):
                continue
            delta = restores[key].delta if key in restores else 0.0
            restores[key] = Restore(key, level.kind, level.limit, level.now(now), delta, level.expire_at)
        self.counted.clear()
        return [r for r in restores.values() if r.seen is not None or r.delta > 0]

    def _add(self, key: str, kind: Kind, limit: float, amount: float, expire_at: float = 0.0) -> None:
        now = self.clock()
        old = self.counted.get(key)
        if kind == "rate":  # decays as the bucket refills
            base = 0.0 if old is None else max(0.0, old.level - (now - old.at) * limit / 60)
            self.counted[key] = _Level(kind, limit, max(0.0, base + amount), now, expire_at)
        else:
            base = 0.0 if old is None else old.level
            self.counted[key] = _Level(kind, limit, base + amount, now, expire_at)
