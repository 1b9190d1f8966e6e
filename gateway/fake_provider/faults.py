"""Fault injection and request accounting for the fake provider.

Two ways to make the fake misbehave:

* Stateless, by model name, so configs and parallel tests need no shared state:
  ``fail-<status>`` answers that status, ``slow-<ms>`` waits before answering and
  ``cut-<n>`` drops the connection after ``n`` streamed content chunks (at once when
  not streaming). Anything after the digits is ignored (``slow-50-a`` is ``slow-50``),
  which lets tests tell apart requests that share a fault.
* Stateful, through the control API: a :class:`FaultRegistry` of :class:`Fault`
  entries checked in order; the first one matching the path and model applies and
  uses up one of its ``count``.

:class:`RequestStats` counts the requests served and keeps the last body and headers.
Both live on the ``web.Application`` (see ``FAULTS_KEY`` / ``STATS_KEY``); nothing in
this module holds state at module level.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from aiohttp import web

FaultKind = Literal["status", "timeout", "cut", "latency"]
FAULT_KINDS: tuple[FaultKind, ...] = ("status", "timeout", "cut", "latency")
DEFAULT_TIMEOUT_MS = 60_000
FOREVER = -1
# Headers that carry credentials are never echoed back by the stats endpoint.
_SECRET_HEADERS = frozenset({"authorization", "x-api-key"})


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to do to one request."""

    kind: FaultKind
    status: int = 503
    retry_after: int | None = None
    latency_ms: int = 0
    after_chunks: int = 0


@dataclass(slots=True)
class Fault:
    """A control-API fault: an action plus what it matches and how long it lives."""

    id: str
    action: FaultAction
    model: str = "*"
    path: str | None = None
    remaining: int = FOREVER
    hits: int = 0

    def matches(self, path: str, model: str) -> bool:
        return (self.model in ("*", model)) and (self.path is None or self.path == path)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "model": self.model,
            "path": self.path,
            "kind": self.action.kind,
            "status": self.action.status,
            "retry_after": self.action.retry_after,
            "latency_ms": self.action.latency_ms,
            "after_chunks": self.action.after_chunks,
            "count": self.remaining,
            "hits": self.hits,
        }


class FaultSpecError(ValueError):
    """The control API was sent a fault it cannot understand."""


@dataclass(slots=True)
class FaultRegistry:
    """Ordered stateful faults; the first active match wins."""

    faults: list[Fault] = field(default_factory=list)
    next_id: int = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        fault = Fault(
            id=f"fault_{self.next_id}",
            action=_parse_action(spec),
            model=_optional_str(spec, "model") or "*",
            path=_optional_str(spec, "path"),
            remaining=_parse_count(spec.get("count")),
        )
        self.next_id += 1
        self.faults.append(fault)
        return fault

    def clear(self) -> None:
        self.faults.clear()

    def take(self, path: str, model: str) -> FaultAction | None:
        """Return the first matching fault's action and use up one of its count."""
        for position, fault in enumerate(self.faults):
            if not fault.matches(path, model):
                continue
            fault.hits += 1
            if fault.remaining != FOREVER:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    del self.faults[position]
            return fault.action
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [fault.describe() for fault in self.faults]


@dataclass(slots=True)
class RequestStats:
    """Per ``"<path> <model>"`` request counts plus the last request seen."""

    requests: dict[str, int] = field(default_factory=dict)
    total: int = 0
    last_request: Any = None
    # Kept as the request's own read-only mapping; copied only when someone asks.
    last_headers: Mapping[str, str] = field(default_factory=dict)

    def record(self, path: str, model: str, body: Any, headers: Mapping[str, str]) -> None:
        key = f"{path} {model}"
        self.requests[key] = self.requests.get(key, 0) + 1
        self.total += 1
        self.last_request = body
        self.last_headers = headers

    def reset(self) -> None:
        self.requests = {}
        self.total = 0
        self.last_request = None
        self.last_headers = {}

    def models_seen(self) -> list[str]:
        return sorted({key.partition(" ")[2] for key in self.requests} - {""})

    def describe(self) -> dict[str, Any]:
        headers = {
            name.lower(): value
            for name, value in self.last_headers.items()
            if name.lower() not in _SECRET_HEADERS
        }
        return {
            "requests": dict(self.requests),
            "total": self.total,
            "last_request": self.last_request,
            "last_headers": headers,
        }


FAULTS_KEY = web.AppKey("fake_provider_faults", FaultRegistry)
STATS_KEY = web.AppKey("fake_provider_stats", RequestStats)


def model_fault(model: str) -> FaultAction | None:
    """Decode a magic model name (``fail-503``, ``slow-5000``, ``cut-2``), else None."""
    if model.startswith("fail-"):
        status = _leading_int(model, 5)
        if status is None or not 400 <= status <= 599:
            return None
        retry_after = 0 if status in (429, 503) else None
        return FaultAction("status", status=status, retry_after=retry_after)
    if model.startswith("slow-"):
        delay = _leading_int(model, 5)
        return None if delay is None else FaultAction("latency", latency_ms=delay)
    if model.startswith("cut-"):
        chunks = _leading_int(model, 4)
        return None if chunks is None else FaultAction("cut", after_chunks=chunks)
    return None


def _leading_int(text: str, start: int) -> int | None:
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return int(text[start:end]) if end > start else None


def _parse_action(spec: Mapping[str, Any]) -> FaultAction:
    kind = spec.get("kind")
    if kind not in FAULT_KINDS:
        raise FaultSpecError(f"kind must be one of {', '.join(FAULT_KINDS)}")
    status = _int_field(spec, "status", 503)
    if not 400 <= status <= 599:
        raise FaultSpecError("status must be between 400 and 599")
    default_latency = DEFAULT_TIMEOUT_MS if kind == "timeout" else 0
    retry_after = spec.get("retry_after")
    return FaultAction(
        kind=cast(FaultKind, kind),
        status=status,
        retry_after=None if retry_after is None else _int_field(spec, "retry_after", 0),
        latency_ms=_int_field(spec, "latency_ms", default_latency),
        after_chunks=_int_field(spec, "after_chunks", 0),
    )


def _parse_count(value: Any) -> int:
    if value is None:
        return FOREVER
    if isinstance(value, bool) or not isinstance(value, int) or (value < 1 and value != FOREVER):
        raise FaultSpecError("count must be a positive integer, or -1 for forever")
    return value


def _int_field(spec: Mapping[str, Any], name: str, default: int) -> int:
    value = spec.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FaultSpecError(f"{name} must be a non-negative integer")
    return value


def _optional_str(spec: Mapping[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise FaultSpecError(f"{name} must be a string")
    return value
