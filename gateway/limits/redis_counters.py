"""The counters in Redis: one Lua script per operation, so each is atomic across replicas and connections.

Same rules as ``LocalCounters`` (see ``counters``); the scripts read the time from Redis (``TIME``), so
replicas with skewed clocks still share one notion of "now". Every key starts with the configured prefix.
Numbers cross the Lua boundary as strings: Redis would truncate Lua floats to integers.

A lost counter: ``seed`` marks a budget counter ``seeded``; ``take`` on a budget counter without the mark (new this
period, or deleted or evicted from Redis) changes nothing and raises ``Unseeded``, and the caller seeds it from the
spend so far before taking again, so a counter that disappears never hands its budget out a second time.

Lost data: ``<prefix>limits:epoch`` holds a random token set by the first process to reach an empty Redis. ``take``
and ``settle`` carry the token this process knows and change nothing when Redis holds another one (or none: it
restarted empty, or was flushed); they raise ``EpochChanged`` instead, and the caller runs ``reconcile`` first,
which restores what this process knows of the counters (see ``gateway.limits.failover``) and learns the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.limits.counters import BUDGET_EPSILON, Check, Kind, Settle, Taken

if TYPE_CHECKING:
    from redis.asyncio import Redis

_REFILL = """
local function refill(key, limit, now)
  local s = redis.call('HMGET', key, 'tokens', 'ts')
  local tokens = tonumber(s[1])
  if tokens == nil then return limit end
  return math.min(limit, tokens + math.max(0, now - tonumber(s[2])) * limit / 60)
end
local function store(key, tokens, limit, now)
  if tokens >= limit then
    redis.call('DEL', key)
  else
    redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
    redis.call('PEXPIRE', key, math.ceil((limit - tokens) * 60000 / limit) + 1000)
  end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# The last KEYS entry is the epoch key, the last ARGV the token this process knows.
_EPOCH = """
if redis.call('GET', KEYS[#KEYS]) ~= ARGV[#ARGV] then return {-1} end
"""

# KEYS: counters, epoch. ARGV: (kind, limit, amount, expire_at) per counter, then epsilon, epoch.
TAKE = _REFILL + _EPOCH + """
local n = #KEYS - 1
local eps = tonumber(ARGV[4 * n + 1])
local level = {}
for i = 1, n do
  local limit = tonumber(ARGV[4 * i - 2])
  if ARGV[4 * i - 3] == 'r' then
    level[i] = refill(KEYS[i], limit, now)
    if level[i] < 1 then
      return {0, i, tostring(level[i]), tostring((1 - level[i]) * 60 / limit)}
    end
  else
    local s = redis.call('HMGET', KEYS[i], 'spent', 'reserved', 'seeded')
    if not s[3] then return {-2, i} end
    local reserved = tonumber(s[2]) or 0
    level[i] = (tonumber(s[1]) or 0) + reserved
    local amount = tonumber(ARGV[4 * i - 1])
    if level[i] >= limit * (1 - eps) or (level[i] + amount > limit and reserved > limit * eps) then
      return {0, i, tostring(level[i]), '0'}
    end
  end
end
local out = {1, 0}
for i = 1, n do
  local limit = tonumber(ARGV[4 * i - 2])
  local amount = tonumber(ARGV[4 * i - 1])
  if ARGV[4 * i - 3] == 'r' then
    amount = math.min(amount, level[i])
    store(KEYS[i], level[i] - amount, limit, now)
    level[i] = level[i] - amount
  else
    amount = math.min(amount, limit - level[i])
    redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', tostring(amount))
    redis.call('EXPIREAT', KEYS[i], ARGV[4 * i])
    level[i] = level[i] + amount
  end
  out[#out + 1] = tostring(level[i])
  out[#out + 1] = tostring(amount)
end
return out
"""

# KEYS: counters, epoch. ARGV: (kind, limit, give_back, spend, expire_at) per counter, then epoch.
SETTLE = _REFILL + _EPOCH + """
local out = {1}
for i = 1, #KEYS - 1 do
  local limit = tonumber(ARGV[5 * i - 3])
  local give_back = tonumber(ARGV[5 * i - 2])
  if ARGV[5 * i - 4] == 'r' then
    local tokens = math.min(limit, refill(KEYS[i], limit, now) + give_back)
    store(KEYS[i], tokens, limit, now)
    out[i + 1] = tostring(tokens)
  else
    local reserved = tonumber(redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', tostring(-give_back)))
    if reserved < 0 then redis.call('HSET', KEYS[i], 'reserved', '0') end
    redis.call('HINCRBYFLOAT', KEYS[i], 'added', ARGV[5 * i - 1])
    out[i + 1] = redis.call('HINCRBYFLOAT', KEYS[i], 'spent', ARGV[5 * i - 1])
    redis.call('EXPIREAT', KEYS[i], ARGV[5 * i])
  end
end
return out
"""

# Raise a budget's floor (spend from before the counter's ``added``) to ``floor``, keeping spent = floor + added.
_FLOOR = """
local function raise_floor(key, floor)
  local old = tonumber(redis.call('HGET', key, 'floor')) or 0
  if floor > old then
    redis.call('HINCRBYFLOAT', key, 'spent', tostring(floor - old))
    redis.call('HSET', key, 'floor', tostring(floor))
  end
end
"""

# KEYS: counter. ARGV: spent (a view of the whole period so far), expire_at.
SEED = _FLOOR + """
local added = tonumber(redis.call('HGET', KEYS[1], 'added')) or 0
raise_floor(KEYS[1], tonumber(ARGV[1]) - added)
redis.call('HSET', KEYS[1], 'seeded', '1')
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return 1
"""

# KEYS: epoch, batch marker, counters. ARGV: candidate token, known token, then (kind, limit, seen, delta,
# expire_at) per counter. ``seen`` (a level last seen in Redis under the known token, '' for none) is restored only
# when the token changed; ``delta`` (counted in this process while Redis was out of reach) is added once per batch.
RECONCILE = _REFILL + _FLOOR + """
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  epoch = ARGV[1]
  redis.call('SET', KEYS[1], epoch)
end
local fresh = epoch ~= ARGV[2]
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 3600) == false then return {epoch, 0} end
for i = 3, #KEYS do
  local a = 5 * (i - 3) + 3
  local limit, seen, delta = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  if ARGV[a] == 'r' then
    local tokens = refill(KEYS[i], limit, now)
    if fresh and seen ~= nil then tokens = math.min(tokens, seen) end
    store(KEYS[i], tokens - delta, limit, now)
  else
    if fresh and seen ~= nil then raise_floor(KEYS[i], seen) end
    if delta ~= 0 then
      redis.call('HINCRBYFLOAT', KEYS[i], 'added', tostring(delta))
      redis.call('HINCRBYFLOAT', KEYS[i], 'spent', tostring(delta))
    end
    redis.call('EXPIREAT', KEYS[i], ARGV[a + 4])
  end
end
return {epoch, fresh and 1 or 0}
"""


class EpochChanged(Exception):
    """Redis holds another epoch token than this process knows: it lost its data (or this process never looked)."""


class Unseeded(Exception):
    """A budget counter that was never seeded with the spend so far: new this period, or lost (deleted, evicted).
    ``take`` changed nothing; the caller seeds ``check``'s counter and takes again."""

    def __init__(self, check: Check) -> None:
        super().__init__(check.key)
        self.check = check


@dataclass(frozen=True, slots=True)
class Restore:
    """One counter for ``reconcile``: a level last seen in Redis (``None``: none) and what was counted apart."""

    key: str
    kind: Kind
    limit: float
    seen: float | None
    delta: float
    expire_at: float = 0.0


class RedisCounters:
    """The scripts, with the epoch token this process knows (``""`` until the first ``reconcile``)."""

    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "limits:"
        self._epoch_key = self._prefix + "epoch"
        self.epoch = ""
        self._take = redis.register_script(TAKE)
        self._settle = redis.register_script(SETTLE)
        self._seed = redis.register_script(SEED)
        self._reconcile = redis.register_script(RECONCILE)

    def source(self) -> str:
        return "redis"

    async def take(self, checks: Sequence[Check]) -> Taken:
        args: list[Any] = []
        for check in checks:
            args += ["r" if check.kind == "rate" else "b", repr(check.limit), repr(check.amount), int(check.expire_at)]
        keys = [*(self._prefix + c.key for c in checks), self._epoch_key]
        reply = await self._take(keys=keys, args=[*args, repr(BUDGET_EPSILON), self.epoch])
        if int(reply[0]) == -1:
            raise EpochChanged
        if int(reply[0]) == -2:
            raise Unseeded(checks[int(reply[1]) - 1])
        if int(reply[0]) == 0:
            failed = int(reply[1]) - 1
            return Taken(False, failed=failed, wait=float(reply[3]), levels=_levels(checks, failed, float(reply[2])),
                         source="redis")
        values = [float(v) for v in reply[2:]]
        return Taken(True, tuple(values[0::2]), tuple(values[1::2]), source="redis")

    async def settle(self, items: Sequence[Settle], source: str = "redis") -> tuple[float, ...]:
        args: list[Any] = []
        for item in items:
            kind = "r" if item.kind == "rate" else "b"
            args += [kind, repr(item.limit), repr(item.give_back), repr(item.spend), int(item.expire_at)]
        keys = [*(self._prefix + i.key for i in items), self._epoch_key]
        reply = await self._settle(keys=keys, args=[*args, self.epoch])
        if int(reply[0]) == -1:
            raise EpochChanged
        return tuple(float(v) for v in reply[1:])

    async def seed(self, key: str, spent: float, expire_at: float) -> None:
        await self._seed(keys=[self._prefix + key], args=[repr(spent), int(expire_at)])

    async def reconcile(self, batch: str, items: Sequence[Restore]) -> bool:
        """Restore and add ``items`` once per ``batch``; learn the epoch. True when Redis had lost its data (or this
        process had not looked yet): the caller reseeds budgets from the database."""
        args: list[Any] = [secrets.token_hex(8), self.epoch]
        for item in items:
            seen = "" if item.seen is None else repr(item.seen)
            args += ["r" if item.kind == "rate" else "b", repr(item.limit), seen, repr(item.delta), int(item.expire_at)]
        keys = [self._epoch_key, self._prefix + "batch:" + batch, *(self._prefix + i.key for i in items)]
        epoch, fresh = await self._reconcile(keys=keys, args=args)
        self.epoch = epoch.decode() if isinstance(epoch, bytes) else str(epoch)
        return bool(int(fresh))

    async def ping(self) -> None:
        await self._redis.ping()

    async def aclose(self) -> None:
        return None  # the client belongs to the wiring


def _levels(checks: Sequence[Check], failed: int, level: float) -> tuple[float, ...]:
    """Only the failing check's level is known from a refusal; the others are reported as untouched."""
    return tuple(level if i == failed else 0.0 for i in range(len(checks)))
