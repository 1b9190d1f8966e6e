"""The Redis client's exceptions, for code that catches them, without importing the client at start-up.

Importing ``redis`` takes about 0.2 s and several MB (it brings its OpenTelemetry hooks along), and a gateway
without Redis never meets its exceptions. So the modules that catch them ask here at the moment they catch
(``except redis_errors.unavailable() as exc:``); the import then happens only in a process that talks to Redis,
where the client is loaded already.
"""

from __future__ import annotations

import functools


@functools.cache
def unavailable() -> tuple[type[BaseException], ...]:
    """What "Redis is out of reach" looks like. Anything else (a bug, a bad script) is not an outage."""
    import redis.exceptions as errors  # noqa: PLC0415 - see the module's docstring

    return (
        errors.ConnectionError,  # refused, reset, closed; BusyLoadingError (restarting, loading its data)
        errors.TimeoutError,
        errors.ReadOnlyError,  # a replica promoted / demoted under us
        errors.TryAgainError,
        errors.MasterDownError,
        TimeoutError,  # our own per-operation timeout (asyncio.wait_for)
        OSError,
    )


@functools.cache
def any_error() -> tuple[type[BaseException], ...]:
    """Every error of the client, and the socket's own."""
    from redis.exceptions import RedisError  # noqa: PLC0415 - see the module's docstring

    return (RedisError, OSError)
