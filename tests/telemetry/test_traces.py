"""Traces of real requests through a running gateway, exported over OTLP (HTTP and gRPC) to a test receiver:
one SERVER span per request with the GenAI attributes, a child per stage and per upstream attempt (retries and
fallbacks visible), the client's traceparent continued and the attempt's sent upstream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.otlp import ReceivedSpan, Receiver, grpc_receiver, http_receiver
from support.servers import FakeProvider, Gateway, gateway

CLIENT_PARENT = "00f067aa0ba902b7"
FAST_EXPORT = {"OTEL_BSP_SCHEDULE_DELAY": "50"}
SERVER, CLIENT = 2, 3  # OTLP span kinds


def traced_config(fake: FakeProvider, tmp: Path, **telemetry: Any) -> dict[str, Any]:
    config = base_config(fake, tmp)
    config["gateway"]["telemetry"] = telemetry
    return config


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


@pytest.fixture(scope="module")
def traced(fake: FakeProvider, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("traced")
    with gateway(traced_config(fake, tmp, otlp_endpoint=receiver.endpoint), tmp, env=FAST_EXPORT) as server:
        yield server


def chat(server: Gateway, model: str, trace_id: str, **extra: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {MASTER_KEY}", "traceparent": f"00-{trace_id}-{CLIENT_PARENT}-01"}
    body = {"model": model, "messages": [{"role": "user", "content": "hello"}], **extra}
    return httpx.post(server.v1 + "/chat/completions", json=body, headers=headers, timeout=60)


def request_span(spans: list[ReceivedSpan]) -> ReceivedSpan:
    (found,) = [span for span in spans if span.kind == SERVER]
    return found


def attempts(spans: list[ReceivedSpan]) -> list[ReceivedSpan]:
    return sorted((span for span in spans if span.kind == CLIENT), key=lambda span: span.attributes["gateway.attempt"])


def has_request_span(trace_id: str) -> Any:
    return lambda spans: any(s.trace_id == trace_id and s.kind == SERVER for s in spans)


def test_a_request_is_one_span_with_the_gen_ai_attributes(traced: Gateway, receiver: Receiver) -> None:
    trace_id = "1" * 32
    response = chat(traced, "gpt-4o-mini", trace_id, temperature=0.5, max_tokens=20)
    assert response.status_code == 200
    spans = [s for s in receiver.wait_for(has_request_span(trace_id)) if s.trace_id == trace_id]
    span = request_span(spans)
    assert span.name == "chat gpt-4o-mini"
    assert span.parent_id == CLIENT_PARENT  # the client's traceparent is continued
    attributes = span.attributes
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "gpt-4o-mini"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.request.temperature"] == 0.5
    assert attributes["gen_ai.request.max_tokens"] == 20
    usage = response.json()["usage"]
    assert attributes["gen_ai.usage.input_tokens"] == usage["prompt_tokens"]
    assert attributes["gen_ai.usage.output_tokens"] == usage["completion_tokens"]
    assert attributes["gen_ai.response.id"] == response.json()["id"]
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"]
    assert attributes["gateway.cost.usd"] == pytest.approx(float(response.headers["x-gateway-cost-usd"]))
    assert attributes["gateway.request.id"] == response.headers["x-gateway-request-id"]
    assert attributes["gateway.key.name"] == "master"
    assert "gen_ai.input.messages" not in attributes  # content is opt-in
    assert "gen_ai.system" not in attributes  # the name gen_ai.provider.name replaced: only under gen_ai/dup
    assert all(s.parent_id == span.span_id for s in spans if s is not span)
    assert all(s.end_ns - s.start_ns >= 200_000 for s in spans if "gateway.stage" in s.attributes)


def test_retries_and_a_fallback_are_each_an_attempt_span(
    traced: Gateway, receiver: Receiver, fake: FakeProvider
) -> None:
    trace_id = "2" * 32
    response = chat(traced, "always-503", trace_id)
    assert response.status_code == 200
    receiver.wait_for(has_request_span(trace_id))
    spans = receiver.trace(trace_id)
    tried = attempts(spans)
    assert [s.attributes["gen_ai.request.model"] for s in tried] == ["fail-503"] * 3 + ["backup-model"]
    assert [s.status for s in tried] == [2, 2, 2, 0]
    assert tried[0].attributes["http.response.status_code"] == 503
    assert tried[0].name == "chat fail-503"
    assert request_span(spans).attributes["gateway.attempts"] == 4
    # The upstream got the last attempt's span as its parent: the trace goes on in the provider.
    sent = fake.stats()["last_headers"]["traceparent"]
    assert sent == f"00-{trace_id}-{tried[-1].span_id}-01"


def test_a_failed_request_ends_its_span_as_an_error(traced: Gateway, receiver: Receiver) -> None:
    trace_id = "3" * 32
    assert chat(traced, "always-400", trace_id).status_code == 400
    span = request_span(receiver.wait_for(has_request_span(trace_id)) and receiver.trace(trace_id))
    assert span.status == 2
    assert span.attributes["error.type"] == "invalid_request_error"
    assert span.attributes["http.response.status_code"] == 400


def test_a_stream_span_ends_with_the_stream(traced: Gateway, receiver: Receiver) -> None:
    trace_id = "5" * 32
    with openai.OpenAI(base_url=traced.v1, api_key=MASTER_KEY, max_retries=0) as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "count"}],
            stream=True,
            extra_headers={"traceparent": f"00-{trace_id}-{CLIENT_PARENT}-01"},
        )
        text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text
    span = request_span(receiver.wait_for(has_request_span(trace_id)) and receiver.trace(trace_id))
    assert span.attributes["gateway.stream"] is True
    assert span.attributes["gateway.time_to_first_token.ms"] > 0
    assert span.attributes["gen_ai.usage.output_tokens"] > 0


def test_without_an_endpoint_nothing_is_traced_or_sent_upstream(gw: Gateway, fake: FakeProvider) -> None:
    assert chat(gw, "gpt-4o-mini", "6" * 32).status_code == 200
    assert "traceparent" not in fake.stats()["last_headers"]


def test_grpc_export_content_capture_and_old_names(fake: FakeProvider, tmp_path: Path) -> None:
    with grpc_receiver() as receiver:
        config = traced_config(
            fake, tmp_path, otlp_endpoint=receiver.endpoint, otlp_protocol="grpc", capture_content=True
        )
        env = {**FAST_EXPORT, "OTEL_SEMCONV_STABILITY_OPT_IN": "gen_ai/dup"}
        with gateway(config, tmp_path, env=env) as server:
            trace_id = "7" * 32
            assert chat(server, "gpt-4o-mini", trace_id).status_code == 200
            span = request_span(receiver.wait_for(has_request_span(trace_id)) and receiver.trace(trace_id))
    assert "hello" in span.attributes["gen_ai.input.messages"]
    assert span.attributes["gen_ai.output.messages"]
    assert span.attributes["gen_ai.system"] == span.attributes["gen_ai.provider.name"] == "openai"
    assert span.attributes["gen_ai.usage.prompt_tokens"] == span.attributes["gen_ai.usage.input_tokens"]


def test_a_request_the_sampler_leaves_out_makes_no_spans_but_keeps_the_trace(
    fake: FakeProvider, tmp_path: Path
) -> None:
    with http_receiver() as receiver:
        config = traced_config(fake, tmp_path, otlp_endpoint=receiver.endpoint, sample_ratio=0.0)
        with gateway(config, tmp_path, env=FAST_EXPORT) as server:
            trace_id = "8" * 32
            headers = {"authorization": f"Bearer {MASTER_KEY}", "traceparent": f"00-{trace_id}-{CLIENT_PARENT}-00"}
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
            assert httpx.post(server.v1 + "/chat/completions", json=body, headers=headers).status_code == 200
            sent = fake.stats()["last_headers"]["traceparent"]
            traced = chat(server, "gpt-4o-mini", "9" * 32)  # sampled by its parent: recorded despite the ratio
            assert traced.status_code == 200
            receiver.wait_for(has_request_span("9" * 32))
    assert sent.startswith(f"00-{trace_id}-") and sent.endswith("-00")  # the trace goes on, not sampled
    assert receiver.trace(trace_id) == []
