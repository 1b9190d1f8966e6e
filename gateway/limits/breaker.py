"""A circuit breaker in front of Redis, so that a frozen or unreachable Redis costs requests at most one short wait.

Closed: each Redis operation on the hot path gets ``timeout`` seconds (asyncio's ``wait_for``, independent of the
client's socket timeout). ``failures`` consecutive failures (a timeout, a refused or reset connection, a Redis that
is loading or read-only) open it. Open: requests do not touch Redis at all (they are counted in this process) until
a probe in the background, every ``probe_interval`` seconds, gets an answer in time; then the caller reconciles and
closes it. A request that fails before the breaker opens is counted in this process too: no request fails, or waits
more than ``timeout`` per operation, because of Redis.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway import redis_errors

#: What "Redis is out of reach" looks like (``gateway.redis_errors``). This module is imported only with Redis.
REDIS_DOWN: tuple[type[BaseException], ...] = redis_errors.unavailable()


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    timeout: float = 0.5  # seconds per Redis operation on the hot path (Redis answers in ~1 ms when well)
    failures: int = 3  # consecutive failures that open the breaker
    probe_interval: float = 0.5  # seconds between background probes while open
    reconcile_timeout: float = 2.0  # seconds for the probe's ping and the reconcile that closes the breaker


class Breaker:
    def __init__(self, settings: BreakerSettings) -> None:
        self.settings = settings
        self._failures = 0
        self._open = False

    @property
    def closed(self) -> bool:
        return not self._open

    def failed(self) -> bool:
        """Count one failure; True when this one opened the breaker."""
        self._failures += 1
        if self._open or self._failures < self.settings.failures:
            return False
        self._open = True
        return True

    def succeeded(self) -> None:
        self._failures = 0

    def close(self) -> None:
        self._failures = 0
        self._open = False

