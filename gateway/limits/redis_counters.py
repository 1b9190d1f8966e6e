"""The counters in Redis: one Lua script per operation, so each is atomic across replicas and connections.

Same rules as ``LocalCounters`` (see ``counters``); the scripts read the time from Redis (``TIME``), so
replicas with skewed clocks still share one notion of "now". Every key starts with the configured prefix.
Numbers cross the Lua boundary as strings: Redis would truncate Lua floats to integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from gateway.limits.counters import BUDGET_EPSILON, Check, Settle, Taken

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

# KEYS: counters. ARGV: (kind, limit, amount, expire_at) per counter, then epsilon.
TAKE = _REFILL + """
local n = #KEYS
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
    local s = redis.call('HMGET', KEYS[i], 'spent', 'reserved')
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
    redis.call('HSETNX', KEYS[i], 'since', tostring(now))
    redis.call('EXPIREAT', KEYS[i], ARGV[4 * i])
    level[i] = level[i] + amount
  end
  out[#out + 1] = tostring(level[i])
  out[#out + 1] = tostring(amount)
end
return out
"""

# KEYS: counters. ARGV: (kind, limit, give_back, spend, expire_at) per counter.
SETTLE = _REFILL + """
local out = {}
for i = 1, #KEYS do
  local limit = tonumber(ARGV[5 * i - 3])
  local give_back = tonumber(ARGV[5 * i - 2])
  if ARGV[5 * i - 4] == 'r' then
    local tokens = math.min(limit, refill(KEYS[i], limit, now) + give_back)
    store(KEYS[i], tokens, limit, now)
    out[i] = tostring(tokens)
  else
    local reserved = tonumber(redis.call('HINCRBYFLOAT', KEYS[i], 'reserved', tostring(-give_back)))
    if reserved < 0 then redis.call('HSET', KEYS[i], 'reserved', '0') end
    out[i] = redis.call('HINCRBYFLOAT', KEYS[i], 'spent', ARGV[5 * i - 1])
    redis.call('EXPIREAT', KEYS[i], ARGV[5 * i])
  end
end
return out
"""

# KEYS: counter. ARGV: spent, expire_at, cutoff.
SEED = _REFILL + """
if redis.call('HEXISTS', KEYS[1], 'seeded') == 1 then return 0 end
local since = tonumber(redis.call('HGET', KEYS[1], 'since'))
local added = 0
if since == nil or since >= tonumber(ARGV[3]) then
  redis.call('HINCRBYFLOAT', KEYS[1], 'spent', ARGV[1])
  added = 1
end
redis.call('HSET', KEYS[1], 'seeded', '1')
redis.call('HSETNX', KEYS[1], 'since', tostring(now))
redis.call('EXPIREAT', KEYS[1], ARGV[2])
return added
"""


class RedisCounters:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix + "limits:"
        self._take = redis.register_script(TAKE)
        self._settle = redis.register_script(SETTLE)
        self._seed = redis.register_script(SEED)

    def source(self) -> str:
        return "redis"

    async def take(self, checks: Sequence[Check]) -> Taken:
        args: list[Any] = []
        for check in checks:
            args += ["r" if check.kind == "rate" else "b", repr(check.limit), repr(check.amount), int(check.expire_at)]
        reply = await self._take(keys=[self._prefix + c.key for c in checks], args=[*args, repr(BUDGET_EPSILON)])
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
        reply = await self._settle(keys=[self._prefix + i.key for i in items], args=args)
        return tuple(float(v) for v in reply)

    async def seed(self, key: str, spent: float, expire_at: float, cutoff: float) -> None:
        await self._seed(keys=[self._prefix + key], args=[repr(spent), int(expire_at), repr(cutoff)])


def _levels(checks: Sequence[Check], failed: int, level: float) -> tuple[float, ...]:
    """Only the failing check's level is known from a refusal; the others are reported as untouched."""
    return tuple(level if i == failed else 0.0 for i in range(len(checks)))
