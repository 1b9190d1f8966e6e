"""Everything the pipeline knows about one request, from arrival to its log record."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from gateway.errors import GatewayError
from gateway.pipeline.usage import Usage
from gateway.providers.base import Endpoint
from gateway.routing.deployment import Deployment


@dataclass(frozen=True, slots=True)
class Limits:
    """What a key or a team may do. ``None`` means "no limit"; ``models=None`` means every model."""

    rpm: int | None = None
    tpm: int | None = None
    budget_usd: float | None = None
    budget_period: str = "monthly"
    models: frozenset[str] | None = None

    @property
    def any(self) -> bool:
        return self.rpm is not None or self.tpm is not None or self.budget_usd is not None


NO_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class GuardrailFinding:
    """What a guardrail found and did, for the request record: never the matched text."""

    guardrail: str
    policy: str
    stage: str  # pre_call | post_call | during_stream
    action: str  # block | redact | mask | warn | fail_open
    entity: str  # email, aws_access_key, prompt_injection... (an exception's type for fail_open)

    def as_dict(self) -> dict[str, str]:
        return {
            "guardrail": self.guardrail,
            "policy": self.policy,
            "stage": self.stage,
            "action": self.action,
            "entity": self.entity,
        }


@dataclass(slots=True)
class Principal:
    """Who is calling. The master key is ``key_id="master"``; virtual keys fill in the rest."""

    key_id: str | None = None
    key_name: str | None = None
    team_id: str | None = None
    store_content: bool = False
    team_name: str | None = None
    key_limits: Limits = NO_LIMITS
    team_limits: Limits = NO_LIMITS
    guardrails: tuple[str, ...] = ()  # guardrail policies attached to the key and its team (in the database)

    def may_use(self, model: str) -> bool:
        """A key is held to its own model list and to its team's, when either has one."""
        for allowed in (self.key_limits.models, self.team_limits.models):
            if allowed is not None and model not in allowed:
                return False
        return True


@dataclass(slots=True)
class RequestContext:
    request_id: str
    endpoint: Endpoint
    body: dict[str, Any]
    model: str
    stream: bool = False
    principal: Principal = field(default_factory=Principal)
    timeout: float | None = None
    tags: list[str] = field(default_factory=list)
    client_wants_usage: bool = False
    cache_control: str | None = None  # the request's Cache-Control header (no-cache, no-store, max-age=N)
    cache_refresh: bool = False  # the force-refresh header: skip the cache's lookup, store the fresh answer
    started: float = field(default_factory=time.perf_counter)
    started_at: float = field(default_factory=time.time)
    # Filled in as the request goes through the pipeline.
    deployment: Deployment | None = None
    attempts: int = 0
    status: int = 200
    error: GatewayError | None = None
    usage: Usage | None = None
    upstream_seconds: float = 0.0
    first_token_at: float | None = None
    finished: float | None = None
    cache_status: str = "none"  # hit, semantic-hit, miss, refresh, bypass (cache stage), none (cache off)
    cache_similarity: float | None = None  # a cache hit's similarity to the stored request (1.0 when exact)
    cost_usd: float | None = None
    prompt_name: str | None = None
    prompt_version: int | None = None
    guardrail_findings: list[GuardrailFinding] | None = None  # set by the guardrails stage; None: none found
    response_headers: dict[str, str] = field(default_factory=dict)
    # The answer, kept for the cost stage and the record (filled by the pipeline; see gateway.pipeline.service).
    response_body: bytes | None = None  # a non-streamed answer, whole (a reference, not a copy)
    response_text: list[str] | None = None  # a stream's text, when it was collected
    stream_chunks: int = 0  # chunks a stream relayed (a token estimate when nothing else is known)
    upstream_cancelled: bool = False  # the client left while the upstream had the request (which it bills)
    # Set by the cost stage, for the record.
    tokens_estimated: bool = False  # tokens were counted by the gateway, not reported by the provider
    cache_savings_usd: float | None = None  # what a cache hit would have cost
    #: A stage's own data from ``before`` to ``after``, keyed by that stage's name; never read by another stage
    #: (what other stages or the record need is a field above). Made on first use: most requests need none.
    stage_state: dict[str, object] | None = None
    # Telemetry (gateway.pipeline.observer): all None unless the request is traced.
    trace_parent: dict[str, str] | None = None  # the client's W3C traceparent / tracestate headers
    trace: object | None = None  # the request's span, opaque to the pipeline
    upstream_headers: dict[str, str] | None = None  # sent with the current upstream attempt (traceparent)

    def keep(self, stage: str, state: object) -> None:
        """Keep ``state`` for ``stage``'s own ``after`` (see ``stage_state``)."""
        if self.stage_state is None:
            self.stage_state = {}
        self.stage_state[stage] = state

    def take(self, stage: str) -> object | None:
        """What ``stage`` kept in ``before``, removed; None if it kept nothing."""
        return self.stage_state.pop(stage, None) if self.stage_state else None

    def fail(self, error: GatewayError) -> None:
        self.error = error
        self.status = error.status

    @property
    def latency_ms(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return (end - self.started) * 1000

    @property
    def overhead_ms(self) -> float:
        return max(0.0, self.latency_ms - self.upstream_seconds * 1000)

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000
