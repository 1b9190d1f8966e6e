"""OpenTelemetry traces: one SERVER span per request, a child per stage and per upstream attempt, exported over OTLP.

Off unless an endpoint is configured (``gateway.telemetry.otlp_endpoint``) or set in the standard variables
(``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``OTEL_EXPORTER_OTLP_ENDPOINT``); ``OTEL_SDK_DISABLED=true`` turns it off.
The SDK's own variables hold as documented (``OTEL_BSP_*``, ``OTEL_TRACES_SAMPLER``, ``OTEL_RESOURCE_ATTRIBUTES``).

The tracer provider belongs to the app (no global provider is set): spans are parented explicitly from the
request's span on ``ctx.trace``, never through the ambient context, because a stream's span outlives the task that
opened it. Spans are recorded as ``gateway.telemetry.spans`` makes them (the SDK's records, without its live span
objects) and encoded by ``gateway.telemetry.otlp``. Every name comes from ``semconv``.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar, cast

import orjson
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, TraceIdRatioBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.config.models import TelemetrySettings
from gateway.errors import GatewayError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.routing.deployment import Deployment
from gateway.telemetry import semconv as sc
from gateway.telemetry.light import ENDPOINT_VARIABLES, TRACE_HEADERS, trace_parent_headers, tracing_wanted
from gateway.telemetry.otlp import FastHttpExporter, fast_grpc_exporter
from gateway.telemetry.spans import LiveSpan, Spans, trace_headers

T = TypeVar("T")
__all__ = [
    "ENDPOINT_VARIABLES", "TRACE_HEADERS", "Tracing", "start_tracing", "trace_parent_headers", "tracing_wanted"
]
PROTOCOL_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")
CONTENT_VARIABLE = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
STAGE_SPAN_MIN_NS = 200_000  # a stage's `before` this long or longer gets its own span


class Tracing:
    def __init__(
        self, provider: TracerProvider, processor: SpanProcessor, *, capture_content: bool, duplicate_names: bool
    ) -> None:
        """``processor``: the one the spans go to (``provider`` holds it too, and flushes it at shutdown)."""
        self._provider = provider
        self._spans = Spans(provider, processor, "gateway")
        self._propagator = TraceContextTextMapPropagator()
        self._capture_content = capture_content
        self._duplicate = duplicate_names

    def start_request(self, ctx: RequestContext) -> None:
        """The request's span on ``ctx.trace``. A request the sampler leaves out gets no span and no children:
        only its trace context goes upstream (flagged not sampled), so the trace stays whole downstream."""
        parent = self._propagator.extract(ctx.trace_parent) if ctx.trace_parent else None
        name = sc.request_span_name(ctx.endpoint, ctx.model)
        started = int(ctx.started_at * 1e9)
        span = self._spans.root(name, parent, SpanKind.SERVER, started, self._request_attributes(ctx))
        if not span.context.trace_flags.sampled:
            ctx.upstream_headers = trace_headers(span.context)
            return
        ctx.trace = span

    def stage(self, ctx: RequestContext, stage: str) -> StageSpan:
        """A stage's ``before``, as a child span only when it did real work (took ``STAGE_SPAN_MIN_NS`` or more):
        most stages pass most requests through in microseconds, and a span costs more than that (see
        docs/telemetry.md, "What it costs")."""
        return StageSpan(self._spans, cast(LiveSpan, ctx.trace), stage)

    def attempts(
        self, ctx: RequestContext, call: Callable[[Deployment], Awaitable[T]]
    ) -> Callable[[Deployment], Awaitable[T]]:
        number = 0
        operation = sc.OPERATIONS[ctx.endpoint]

        async def attempt(deployment: Deployment) -> T:
            nonlocal number
            number += 1
            name = sc.ATTEMPT_SPAN.format(operation=operation, upstream_model=deployment.upstream_model)
            attributes = self._attempt_attributes(ctx, deployment, number)
            span = self._spans.child(cast(LiveSpan, ctx.trace), name, SpanKind.CLIENT, time.time_ns(), attributes)
            ctx.upstream_headers = trace_headers(span.context)
            try:
                return await call(deployment)
            except GatewayError as exc:
                attributes[sc.ERROR_TYPE] = exc.error_type
                attributes[sc.HTTP_STATUS] = exc.status
                span.status = Status(StatusCode.ERROR, exc.message)
                raise
            finally:
                ctx.upstream_headers = None
                self._spans.end(span, time.time_ns())

        return attempt

    def finish(self, ctx: RequestContext, record: RequestRecord) -> None:
        span = cast(LiveSpan, ctx.trace)
        attributes = span.attributes
        attributes.update(self._record_attributes(ctx, record))
        if ctx.response_body is not None and ctx.endpoint != "embeddings":
            attributes.update(_response_attributes(ctx.response_body, self._capture_content))
        if self._capture_content:
            attributes[sc.INPUT_MESSAGES] = _input_text(ctx)
        if record.status >= 400:
            span.status = Status(StatusCode.ERROR, record.error_message or str(record.status))
        self._spans.end(span, int((record.created_at + record.latency_ms / 1000) * 1e9))

    async def aclose(self) -> None:
        await asyncio.to_thread(self._provider.shutdown)  # flushes the batch: blocking, so off the event loop

    def _request_attributes(self, ctx: RequestContext) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            sc.OPERATION: sc.OPERATIONS[ctx.endpoint],
            sc.REQUEST_MODEL: ctx.model,
            sc.REQUEST_ID: ctx.request_id,
        }
        if ctx.stream:
            attributes[sc.STREAM] = True
        for field, name in sc.REQUEST_PARAMETERS.items():
            value = ctx.body.get(field)
            if isinstance(value, (bool, int, float, str)):
                attributes[name] = [value] if name.endswith("s") and isinstance(value, str) else value
            elif isinstance(value, list) and all(isinstance(item, str) for item in value):
                attributes[name] = value
        return attributes

    def _attempt_attributes(self, ctx: RequestContext, deployment: Deployment, number: int) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            sc.OPERATION: sc.OPERATIONS[ctx.endpoint],
            sc.PROVIDER: sc.provider_name(deployment.provider_name),
            sc.REQUEST_MODEL: deployment.upstream_model,
            sc.DEPLOYMENT: deployment.id,
            sc.ATTEMPT: number,
        }
        return self._with_legacy(attributes)

    def _record_attributes(self, ctx: RequestContext, record: RequestRecord) -> dict[str, Any]:
        # Only what says something (an attribute costs ~5 us to export): attempts past the first, a cache status.
        values: dict[str, Any] = {
            sc.HTTP_STATUS: record.status,
            sc.ATTEMPTS: record.attempts if record.attempts > 1 else None,
            sc.CACHE_STATUS: record.cache_status if record.cache_status != "none" else None,
            sc.OVERHEAD_MS: round(ctx.overhead_ms, 3),
            sc.PROVIDER: sc.provider_name(record.provider) if record.provider else None,
            sc.DEPLOYMENT: record.deployment_id,
            sc.INPUT_TOKENS: record.prompt_tokens,
            sc.OUTPUT_TOKENS: record.completion_tokens,
            sc.CACHE_READ_TOKENS: record.cached_tokens,
            sc.REASONING_TOKENS: record.reasoning_tokens,
            sc.TOKENS_ESTIMATED: record.tokens_estimated or None,
            sc.COST: record.cost_usd,
            sc.CACHE_SAVINGS: record.cache_savings_usd,
            sc.CACHE_SIMILARITY: record.cache_similarity,
            sc.TTFT_MS: record.ttft_ms,
            sc.ERROR_TYPE: record.error_type,
            sc.KEY_NAME: ctx.principal.key_name,
            sc.TEAM_NAME: ctx.principal.team_name,
            sc.PROMPT: f"{record.prompt_name}@{record.prompt_version}" if record.prompt_name else None,
            sc.TAGS: record.tags or None,
        }
        found = {name: value for name, value in values.items() if value is not None}
        return self._with_legacy({**found, **_guardrail_attributes(record.guardrails)})

    def _with_legacy(self, attributes: dict[str, Any]) -> dict[str, Any]:
        if self._duplicate:
            attributes.update({sc.LEGACY[name]: attributes[name] for name in sc.LEGACY if name in attributes})
        return attributes


class StageSpan:
    """``Tracing.stage``'s timer: a class rather than a generator-based context manager, which costs three times as
    much (~2.5 µs), on every stage of every traced request."""

    __slots__ = ("_parent", "_spans", "_stage", "_started")

    def __init__(self, spans: Spans, parent: LiveSpan, stage: str) -> None:
        self._spans, self._parent, self._stage = spans, parent, stage
        self._started = 0

    def __enter__(self) -> None:
        self._started = time.time_ns()

    def __exit__(self, *_exc: object) -> None:
        ended = time.time_ns()
        if ended - self._started >= STAGE_SPAN_MIN_NS:
            name, attributes = sc.STAGE_SPAN.format(stage=self._stage), {sc.STAGE: self._stage}
            self._spans.end(self._spans.child(self._parent, name, SpanKind.INTERNAL, self._started, attributes), ended)


def _guardrail_attributes(findings: list[dict[str, str]] | None) -> dict[str, list[str]]:
    """The findings as aligned arrays (span attributes hold no objects); the record never holds matched values."""
    if not findings:
        return {}
    return {name: [f.get(field, "") for f in findings] for field, name in sc.GUARDRAIL_FINDINGS.items()}


def start_tracing(settings: TelemetrySettings, environ: Mapping[str, str] = os.environ) -> Tracing | None:
    """A ``Tracing`` exporting in the background, or None when no endpoint is set."""
    if not tracing_wanted(settings, environ):
        return None
    resource = Resource.create({"service.name": settings.service_name})
    provider = TracerProvider(resource=resource, sampler=_sampler(settings))
    processor = BatchSpanProcessor(otlp_exporter(settings, environ))
    provider.add_span_processor(processor)
    opt_in = {part.strip() for part in environ.get(sc.OPT_IN_ENV, "").split(",")}
    content = settings.capture_content or environ.get(CONTENT_VARIABLE, "").strip().lower() == "true"
    return Tracing(provider, processor, capture_content=content, duplicate_names=sc.DUPLICATE in opt_in)


def otlp_exporter(settings: TelemetrySettings, environ: Mapping[str, str] = os.environ) -> SpanExporter:
    """OTLP over HTTP (protobuf) by default, or gRPC; the SDK's exporters read the variables left unset here."""
    protocol: str = settings.otlp_protocol or next((environ[v] for v in PROTOCOL_VARIABLES if environ.get(v)), "http")
    headers = {name: value.get_secret_value() for name, value in settings.otlp_headers.items()} or None
    if protocol.strip() == "grpc":
        return fast_grpc_exporter(settings.otlp_endpoint, headers)
    endpoint = settings.otlp_endpoint
    if endpoint is not None and not endpoint.rstrip("/").endswith("/v1/traces"):
        endpoint = endpoint.rstrip("/") + "/v1/traces"  # as the SDK does with OTEL_EXPORTER_OTLP_ENDPOINT
    return FastHttpExporter(endpoint=endpoint, headers=headers)


def _sampler(settings: TelemetrySettings) -> Sampler | None:
    # None: the SDK's default, which reads OTEL_TRACES_SAMPLER (parent-based, always on, when unset).
    return None if settings.sample_ratio is None else ParentBased(TraceIdRatioBased(settings.sample_ratio))


def _response_attributes(body: bytes, capture_content: bool) -> dict[str, Any]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    choices = [c for c in parsed.get("choices") or () if isinstance(c, dict)]
    reasons = [str(c["finish_reason"]) for c in choices if c.get("finish_reason")]
    attributes = {
        sc.RESPONSE_ID: parsed.get("id"),
        sc.RESPONSE_MODEL: parsed.get("model"),
        sc.FINISH_REASONS: reasons or None,
        sc.OUTPUT_MESSAGES: orjson.dumps([c.get("message") or c.get("text") for c in choices]).decode()
        if capture_content
        else None,
    }
    return {name: value for name, value in attributes.items() if isinstance(value, str | list)}


def _input_text(ctx: RequestContext) -> str:
    field = ctx.body.get("messages") or ctx.body.get("prompt") or ctx.body.get("input")
    try:
        return orjson.dumps(field).decode()
    except TypeError:
        return ""
