"""Spans made as the SDK's ``ReadableSpan`` records when they end, instead of live SDK ``Span`` objects.

A live SDK span costs ~16 µs before any attribute (four locks, a bounded attribute map that checks each value, an
event list, a link list, the span processors' ``on_start``, and a copy into a ``ReadableSpan`` at ``end``). The
gateway's spans are simple: made, filled and ended by the pipeline on one thread, with no events or links and
attributes the gateway itself builds from known types. ``LiveSpan`` holds what such a span needs until it ends
(its context and a plain dict); ``Spans.end`` hands the span processor the same ``ReadableSpan`` the SDK would
have. What the SDK decides stays the SDK's: the provider's sampler (``OTEL_TRACES_SAMPLER``, parent-based by
default), its ID generator, its resource, and its attribute limits (``OTEL_*ATTRIBUTE*_LIMIT``) when one is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import Decision
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import (
    INVALID_SPAN_CONTEXT,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    get_current_span,
)

SAMPLED, NOT_SAMPLED = TraceFlags(TraceFlags.SAMPLED), TraceFlags(TraceFlags.DEFAULT)
UNSET = Status(StatusCode.UNSET)


@dataclass(slots=True)
class LiveSpan:
    """A span not yet ended: ``ctx.trace`` of a traced request, and its attempt and stage spans."""

    name: str
    context: SpanContext
    parent: SpanContext | None
    kind: SpanKind
    start_ns: int
    attributes: dict[str, Any]
    status: Status = UNSET

    def get_span_context(self) -> SpanContext:  # as an SDK span's
        return self.context


class Spans:
    """Starts root and child spans with the provider's sampler and IDs; ``end`` sends them to ``processor``."""

    def __init__(self, provider: TracerProvider, processor: SpanProcessor, scope: str) -> None:
        self._sampler = provider.sampler
        self._ids = provider.id_generator
        self._resource = provider.resource
        self._processor = processor
        self._scope = InstrumentationScope(scope)
        limits = SpanLimits()  # reads the OTEL_*ATTRIBUTE* variables, as the provider's own does
        self._max_attributes = limits.max_span_attributes
        self._max_length = limits.max_span_attribute_length

    def root(
        self, name: str, parent: Context | None, kind: SpanKind, start_ns: int, attributes: dict[str, Any]
    ) -> LiveSpan:
        """A span whose parent is remote (the client's traceparent) or none. Not recording (the sampler left it
        out) when ``LiveSpan.context.trace_flags`` is not sampled: the caller then only propagates its context."""
        parent_context = get_current_span(parent).get_span_context() if parent is not None else INVALID_SPAN_CONTEXT
        valid = parent_context.is_valid
        trace_id = parent_context.trace_id if valid else self._ids.generate_trace_id()
        result = self._sampler.should_sample(parent, trace_id, name, kind, attributes)
        sampled = result.decision == Decision.RECORD_AND_SAMPLE
        context = SpanContext(trace_id, self._ids.generate_span_id(), False, SAMPLED if sampled else NOT_SAMPLED,
                              result.trace_state)
        if result.attributes:
            attributes.update(result.attributes)
        return LiveSpan(name, context, parent_context if valid else None, kind, start_ns, attributes)

    def child(self, parent: LiveSpan, name: str, kind: SpanKind, start_ns: int, attributes: dict[str, Any]) -> LiveSpan:
        """A child of a recorded span: recorded too, as the parent-based samplers decide (and a trace-ID ratio
        decides the same for the same trace)."""
        context = SpanContext(parent.context.trace_id, self._ids.generate_span_id(), False, SAMPLED,
                              parent.context.trace_state)
        return LiveSpan(name, context, parent.context, kind, start_ns, attributes)

    def end(self, span: LiveSpan, end_ns: int) -> None:
        attributes: Any = span.attributes
        limit = self._max_attributes
        if self._max_length is not None or (limit is not None and len(attributes) > limit):
            attributes = BoundedAttributes(self._max_attributes, attributes, max_value_len=self._max_length)
        self._processor.on_end(
            ReadableSpan(name=span.name, context=span.context, parent=span.parent, resource=self._resource,
                         attributes=attributes, kind=span.kind, status=span.status, start_time=span.start_ns,
                         end_time=end_ns, instrumentation_scope=self._scope)
        )


def trace_headers(context: SpanContext) -> dict[str, str]:
    """W3C ``traceparent`` (and ``tracestate``) for a span's context, as the SDK's propagator writes them."""
    headers = {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"}
    if context.trace_state:
        headers["tracestate"] = context.trace_state.to_header()
    return headers
