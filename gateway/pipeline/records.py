"""The one record every request leaves behind, and where records go.

A ``RecordSink`` takes records without blocking the request; whatever storage it writes to, it does so in the
background. The default sink writes one structured line per request to the ``gateway.requests`` logger.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import orjson

from gateway.pipeline.context import RequestContext

# Keys of ``ctx.scratch`` that the pipeline and the cost stage fill for the record (see ``from_context``).
RESPONSE_BODY = "response_body"  # bytes: the whole non-streamed answer
RESPONSE_TEXT = "response_text"  # list[str]: a stream's text, when it was collected
STREAM_CHUNKS = "stream_chunks"  # int: chunks relayed (a token estimate when nothing else is known)
CACHE_SAVINGS = "cache_savings_usd"  # float: what a cache hit would have cost
TOKENS_ESTIMATED = "tokens_estimated"  # bool: tokens were counted by the gateway, not reported by the provider


@dataclass(slots=True)
class RequestRecord:
    request_id: str
    created_at: float
    endpoint: str
    model: str
    status: int
    latency_ms: float
    stream: bool
    deployment_id: str | None = None
    provider: str | None = None
    upstream_model: str | None = None
    attempts: int = 0
    ttft_ms: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    cached_tokens: int | None = None
    cost_usd: float | None = None
    cache_status: str = "none"
    error_type: str | None = None
    error_message: str | None = None
    key_id: str | None = None
    team_id: str | None = None
    user: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    prompt_name: str | None = None
    prompt_version: int | None = None
    reasoning_tokens: int | None = None
    tokens_estimated: bool = False
    cache_savings_usd: float | None = None
    #: Only for keys that store content (``Principal.store_content``).
    request_body: str | None = None
    response_body: str | None = None

    @classmethod
    def from_context(cls, ctx: RequestContext) -> RequestRecord:
        deployment = ctx.deployment
        usage = ctx.usage
        metadata = ctx.body.get("metadata")
        user = ctx.body.get("user")
        return cls(
            request_id=ctx.request_id,
            created_at=ctx.started_at,
            endpoint=ctx.endpoint,
            model=ctx.model,
            status=ctx.status,
            latency_ms=round(ctx.latency_ms, 3),
            stream=ctx.stream,
            deployment_id=deployment.id if deployment else None,
            provider=deployment.provider_name if deployment else None,
            upstream_model=deployment.upstream_model if deployment else None,
            attempts=ctx.attempts,
            ttft_ms=round(ctx.ttft_ms, 3) if ctx.ttft_ms is not None else None,
            prompt_tokens=usage.prompt_tokens if usage else None,
            completion_tokens=usage.completion_tokens if usage else None,
            cached_tokens=usage.cached_tokens if usage else None,
            cost_usd=ctx.cost_usd,
            cache_status=ctx.cache_status,
            error_type=ctx.error.error_type if ctx.error else None,
            error_message=ctx.error.message if ctx.error else None,
            key_id=ctx.principal.key_id,
            team_id=ctx.principal.team_id,
            user=user if isinstance(user, str) else None,
            tags=list(ctx.tags),
            metadata=metadata if isinstance(metadata, dict) else {},
            prompt_name=ctx.prompt_name,
            prompt_version=ctx.prompt_version,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            tokens_estimated=ctx.scratch.get(TOKENS_ESTIMATED) is True,
            cache_savings_usd=_float_or_none(ctx.scratch.get(CACHE_SAVINGS)),
            request_body=orjson.dumps(ctx.body).decode() if ctx.principal.store_content else None,
            response_body=_response_text(ctx) if ctx.principal.store_content else None,
        )


def _float_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _response_text(ctx: RequestContext) -> str | None:
    body = ctx.scratch.get(RESPONSE_BODY)
    if isinstance(body, bytes):
        return body.decode(errors="replace")
    text = ctx.scratch.get(RESPONSE_TEXT)
    return "".join(text) if isinstance(text, list) else None


class RecordSink(Protocol):
    def emit(self, record: RequestRecord) -> None:
        """Accept a record without blocking; must never raise into the request."""

    async def aclose(self) -> None:
        """Flush what is pending. Called once at shutdown."""


class LogRecordSink:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        self._logger = logger or logging.getLogger("gateway.requests")

    def emit(self, record: RequestRecord) -> None:
        if self._logger.isEnabledFor(logging.INFO):
            self._logger.info(orjson.dumps(asdict(record)).decode())

    async def aclose(self) -> None:
        return None
