"""When tracing is on, and where spans go: the config's endpoint or the standard OTEL variables, HTTP or gRPC."""

from __future__ import annotations

import time

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.config.models import TelemetrySettings
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.telemetry import semconv
from gateway.telemetry.tracing import STAGE_SPAN_MIN_NS, Tracing, otlp_exporter, start_tracing, tracing_wanted


def test_tracing_is_off_without_an_endpoint_and_on_with_one() -> None:
    assert not tracing_wanted(TelemetrySettings(), {})
    assert tracing_wanted(TelemetrySettings(otlp_endpoint="http://collector:4318"), {})
    assert tracing_wanted(TelemetrySettings(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing_wanted(TelemetrySettings(), {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c:4318/v1/traces"})
    assert start_tracing(TelemetrySettings(), {}) is None


def test_the_standard_switches_turn_it_off() -> None:
    on = TelemetrySettings(otlp_endpoint="http://collector:4318")
    assert not tracing_wanted(on, {"OTEL_SDK_DISABLED": "true"})
    assert not tracing_wanted(on, {"OTEL_TRACES_EXPORTER": "none"})


def test_http_is_the_default_and_grpc_is_chosen_by_config_or_variable() -> None:
    http = otlp_exporter(TelemetrySettings(otlp_endpoint="http://collector:4318"), {})
    assert isinstance(http, HttpExporter) and http._endpoint == "http://collector:4318/v1/traces"
    grpc = otlp_exporter(TelemetrySettings(otlp_endpoint="http://collector:4317", otlp_protocol="grpc"), {})
    assert isinstance(grpc, GrpcExporter)
    by_variable = otlp_exporter(TelemetrySettings(), {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert isinstance(by_variable, GrpcExporter)
    for exporter in (http, grpc, by_variable):
        exporter.shutdown()


def test_span_names_and_provider_names_follow_the_conventions() -> None:
    assert semconv.request_span_name("chat", "gpt-4o") == "chat gpt-4o"
    assert semconv.request_span_name("completions", "m") == "text_completion m"
    assert semconv.request_span_name("embeddings", "e") == "embeddings e"
    assert semconv.provider_name("openai") == "openai"
    assert semconv.provider_name("bedrock") == "aws.bedrock"
    assert semconv.provider_name("azure") == "azure.ai.openai"


def test_a_stage_gets_a_span_only_when_it_did_real_work() -> None:
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    processor = SimpleSpanProcessor(exported)
    provider.add_span_processor(processor)
    tracing = Tracing(provider, processor, capture_content=False, duplicate_names=False)
    ctx = RequestContext(request_id="req_1", endpoint="chat", body={"model": "m", "temperature": 0.2}, model="m")
    tracing.start_request(ctx)
    with tracing.stage(ctx, "quick"):
        pass
    with tracing.stage(ctx, "slow"):
        time.sleep(0.002)  # longer than STAGE_SPAN_MIN_NS
    names = [span.name for span in exported.get_finished_spans()]
    assert names == ["gateway.stage slow"]
    (slow,) = exported.get_finished_spans()
    assert slow.parent is not None and slow.parent.span_id == ctx.trace.get_span_context().span_id  # type: ignore[attr-defined]
    assert slow.end_time - slow.start_time >= STAGE_SPAN_MIN_NS  # type: ignore[operator]


def test_the_sdks_attribute_limits_still_hold(monkeypatch: pytest.MonkeyPatch) -> None:
    """Spans are recorded without live SDK spans (``gateway.telemetry.spans``): the standard limits still apply."""
    monkeypatch.setenv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "5")
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    processor = SimpleSpanProcessor(exported)
    provider.add_span_processor(processor)
    tracing = Tracing(provider, processor, capture_content=False, duplicate_names=False)
    ctx = RequestContext(request_id="req_123456", endpoint="chat", body={"model": "m"}, model="a-long-model-name")
    tracing.start_request(ctx)
    record = RequestRecord(request_id="req_123456", created_at=ctx.started_at, endpoint="chat", model="m",
                           status=200, latency_ms=1.0, stream=False)
    tracing.finish(ctx, record)
    (span,) = exported.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes[semconv.REQUEST_MODEL] == "a-lon"
    assert span.attributes[semconv.REQUEST_ID] == "req_1"
    assert span.attributes[semconv.HTTP_STATUS] == 200
