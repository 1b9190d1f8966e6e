"""The gateway's own OTLP encoding (``gateway.telemetry.otlp``) says what the SDK's encoder says: a parse of its
bytes equals the SDK's ``ExportTraceServiceRequest`` for the same spans, whatever their attributes hold."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans as sdk_encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    TraceState,
    set_span_in_context,
)

from gateway.telemetry.otlp import encode_spans

ATTRIBUTES = {
    "text": "chat gpt-4o",
    "empty": "",
    "long": "x" * 300,
    "unicode": "héllo ✓",
    "yes": True,
    "no": False,
    "zero": 0,
    "int": 1234567,
    "negative": -5,
    "float": 0.25,
    "floats": [0.5, -1.0],
    "texts": ["stop", "length"],
    "bools": [True, False],
    "bytes": b"\x00\x01",
}


def spans() -> list[ReadableSpan]:
    exported = InMemorySpanExporter()
    first = TracerProvider(resource=Resource.create({"service.name": "gateway", "n": 3}))
    second = TracerProvider(resource=Resource.create({"service.name": "other"}))
    for provider in (first, second):
        provider.add_span_processor(SimpleSpanProcessor(exported))
    tracer, other = first.get_tracer("gateway"), second.get_tracer("lib", "1.2", schema_url="https://x/1")
    state = TraceState([("vendor", "v1")])
    remote = SpanContext(0xA * 2**100, 0xB, is_remote=True, trace_flags=TraceFlags(1), trace_state=state)
    with tracer.start_as_current_span("chat m", context=set_span_in_context(NonRecordingSpan(remote)),
                                      kind=SpanKind.SERVER, attributes=ATTRIBUTES) as span:
        span.add_event("retry", {"attempt": 2})
        with tracer.start_as_current_span("chat upstream", kind=SpanKind.CLIENT) as child:
            child.set_status(Status(StatusCode.ERROR, "upstream timed out"))
    linked = other.start_span("linked", links=[Link(remote, {"why": "batch"})])
    linked.set_status(Status(StatusCode.OK))
    linked.end()
    tracer.start_span("bare").end()
    return list(exported.get_finished_spans())


def test_the_bytes_parse_to_the_sdk_encoders_message() -> None:
    found = spans()
    parsed = ExportTraceServiceRequest()
    parsed.ParseFromString(encode_spans(found))
    assert parsed == sdk_encode_spans(found)
    assert len(parsed.resource_spans) == 2
    assert sum(len(scope.spans) for r in parsed.resource_spans for scope in r.scope_spans) == 4


def test_no_spans_is_an_empty_request() -> None:
    assert encode_spans([]) == b""
