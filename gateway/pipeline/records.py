"""The one record every request leaves behind, and where records go.

A ``RecordSink`` takes records without blocking the request; whatever storage it writes to, it does so in the
background (the gateway's is ``gateway.ledger.LedgerWriter``: the request log and the daily roll-ups).

Contract: a record can always be serialised and stored, whatever the request held. ``from_context`` bounds the
JSON the client controls (``metadata``: nesting deeper than ``MAX_JSON_DEPTH`` is replaced by ``TRUNCATED``, more
than ``MAX_JSON_BYTES`` by ``{TRUNCATED: ...}``) and cleans its strings (``clean_text``: no NUL, no lone
surrogates: PostgreSQL text refuses both). The request log applies the same bounds again when it writes a row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, cast

import orjson

from gateway.pipeline.context import RequestContext

MAX_JSON_DEPTH = 32  # orjson refuses to serialise more than 254 levels; no report needs more than a few
MAX_JSON_BYTES = 16_384
TRUNCATED = "[truncated by the gateway]"
_INT_RANGE = 2**63  # orjson serialises 64-bit integers only


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
    cache_write_tokens: int | None = None
    cache_write_1h_tokens: int | None = None
    cache_savings_usd: float | None = None  # what a cache hit saved (the cost of the answer it replayed)
    cache_similarity: float | None = None  # a cache hit's similarity (1.0 exact)
    #: What guardrails found and did (``GuardrailFinding.as_dict``), never the matched values; None: nothing.
    guardrails: list[dict[str, str]] | None = None
    #: Only for keys that store content (``Principal.store_content``).
    request_body: str | None = None
    response_body: str | None = None

    @classmethod
    def from_context(cls, ctx: RequestContext) -> RequestRecord:
        deployment = ctx.deployment
        usage = ctx.usage
        metadata = ctx.body.get("metadata")
        user = ctx.body.get("user")
        body_text = _body_text(ctx.body) if ctx.principal.store_content else None
        return cls(
            request_id=ctx.request_id,
            created_at=ctx.started_at,
            endpoint=ctx.endpoint,
            model=clean_text(ctx.model),
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
            user=clean_text(user) if isinstance(user, str) else None,
            tags=list(dict.fromkeys(clean_text(str(tag)) for tag in ctx.tags)),  # each tag once, in order
            metadata=bounded_metadata(metadata) if isinstance(metadata, dict) and metadata else {},
            prompt_name=ctx.prompt_name,
            prompt_version=ctx.prompt_version,
            reasoning_tokens=usage.reasoning_tokens if usage else None,
            tokens_estimated=ctx.tokens_estimated,
            cache_savings_usd=ctx.cache_savings_usd,
            cache_write_tokens=usage.cache_write_tokens if usage else None,
            cache_write_1h_tokens=usage.cache_write_1h_tokens if usage else None,
            cache_similarity=ctx.cache_similarity,
            guardrails=[f.as_dict() for f in ctx.guardrail_findings] if ctx.guardrail_findings else None,
            request_body=body_text,
            response_body=_response_text(ctx) if ctx.principal.store_content else None,
        )


def clean_text(value: str) -> str:
    """``value`` without the characters PostgreSQL text refuses: NUL is dropped, a lone surrogate becomes "?"."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if not value.isascii():
        try:
            value.encode()
        except UnicodeEncodeError:
            value = value.encode(errors="replace").decode()
    return value


def bounded_metadata(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with its nesting, size and strings bounded (see the module's contract); always a dict."""
    bounded = cast(dict[str, Any], bounded_json(value))
    return bounded if isinstance(bounded, dict) else {TRUNCATED: "not an object"}


def bounded_json(value: Any, max_depth: int = MAX_JSON_DEPTH, max_bytes: int = MAX_JSON_BYTES) -> Any:
    """A copy of ``value`` that orjson can serialise, at most ``max_depth`` deep and ``max_bytes`` long."""
    bounded = _bounded(value, max_depth)
    try:
        size = len(orjson.dumps(bounded))
    except TypeError:  # orjson.JSONEncodeError: a type JSON has no form for
        return {TRUNCATED: "not serialisable"}
    return bounded if size <= max_bytes else {TRUNCATED: f"larger than {max_bytes} bytes"}


def _bounded(value: Any, depth: int) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict | list) and depth <= 0:
        return TRUNCATED
    if isinstance(value, dict):
        return {clean_text(str(key)): _bounded(item, depth - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_bounded(item, depth - 1) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -_INT_RANGE <= value < _INT_RANGE:
        return str(value)
    return value if value is None or isinstance(value, bool | int | float) else clean_text(str(value))


def _body_text(body: dict[str, Any]) -> str:
    """The request body as JSON text; a body too deep for orjson is stored bounded rather than not at all."""
    try:
        return orjson.dumps(body).decode()
    except TypeError:
        return orjson.dumps(bounded_json(body, max_bytes=2**62)).decode()


def _response_text(ctx: RequestContext) -> str | None:
    if ctx.response_body is not None:
        return ctx.response_body.decode(errors="replace")
    return "".join(ctx.response_text) if ctx.response_text is not None else None


class RecordSink(Protocol):
    def emit(self, record: RequestRecord) -> None:
        """Accept a record without blocking; must never raise into the request."""

    async def aclose(self) -> None:
        """Flush what is pending. Called once at shutdown."""
