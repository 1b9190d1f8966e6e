"""Cache and guardrails in the telemetry of a running gateway: exact and semantic hits and their savings on
``/metrics``, guardrail actions counted by guardrail, policy, action and stage (config names, never a matched
value), and the same on the request's span (cache status and similarity, the findings as aligned arrays)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.caching import cache_config, wait_filed
from support.config import MASTER_KEY
from support.otlp import ReceivedSpan, Receiver, http_receiver
from support.scrape import scrape, value
from support.servers import FakeProvider, Gateway, gateway

AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "ada.lovelace@example.org"
MODEL = "gpt-4o-mini"
SERVER = 2  # OTLP span kind
POLICIES = {
    "no-secrets": {"input": [{"type": "secrets", "name": "secret-block", "action": "block"}]},
    "pii": {"input": [{"type": "pii", "name": "email-mask", "action": "mask", "entities": ["email"]}]},
}


def guarded_cache_config(fake: FakeProvider, tmp: Path, endpoint: str) -> dict[str, Any]:
    folder = tmp / "guardrails"
    folder.mkdir()
    for name, policy in POLICIES.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(policy))
    config = cache_config(fake, tmp)
    config["gateway"]["guardrails"] = {"policies": ["guardrails/*.yaml"], "default": ["no-secrets", "pii"]}
    config["gateway"]["telemetry"] = {"otlp_endpoint": endpoint}
    return config


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


@pytest.fixture(scope="module")
def observed(fake: FakeProvider, receiver: Receiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("observed")
    config = guarded_cache_config(fake, tmp, receiver.endpoint)
    with gateway(config, tmp, env={"OTEL_BSP_SCHEDULE_DELAY": "50"}) as server:
        yield server


def chat(server: Gateway, text: str, trace_id: str = "0" * 31 + "1") -> httpx.Response:
    headers = {"authorization": f"Bearer {MASTER_KEY}", "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"}
    body = {"model": MODEL, "messages": [{"role": "user", "content": text}]}
    return httpx.post(server.v1 + "/chat/completions", json=body, headers=headers, timeout=60)


def request_span(receiver: Receiver, trace_id: str) -> ReceivedSpan:
    def found(spans: list[ReceivedSpan]) -> bool:
        return any(s.trace_id == trace_id and s.kind == SERVER for s in spans)

    (span,) = [s for s in receiver.wait_for(found) if s.trace_id == trace_id and s.kind == SERVER]
    return span


def test_exact_and_semantic_hits_and_their_savings_are_counted(observed: Gateway, receiver: Receiver) -> None:
    before = scrape(observed)
    assert chat(observed, "How do I reset my password?").status_code == 200
    wait_filed(observed, 1)
    exact = chat(observed, "How do I reset my password?")
    semantic = chat(observed, "How can I reset my password?", "e" * 32)
    assert (exact.headers["x-gateway-cache"], semantic.headers["x-gateway-cache"]) == ("hit", "semantic-hit")
    after = scrape(observed)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("gateway_cache_requests_total", model=MODEL, status="hit") == 1
    assert grew("gateway_cache_requests_total", model=MODEL, status="semantic-hit") == 1
    assert grew("gateway_cache_requests_total", model=MODEL, status="miss") == 1
    assert grew("gateway_cache_savings_usd_total", model=MODEL) > 0  # both hits saved an upstream call's price
    span = request_span(receiver, "e" * 32).attributes
    assert span["gateway.cache.status"] == "semantic-hit"
    assert 0.9 < span["gateway.cache.similarity"] < 1.0


def test_guardrail_blocks_and_masks_are_counted_by_config_names(observed: Gateway) -> None:
    before = scrape(observed)
    assert chat(observed, f"my key is {AWS_KEY}").status_code == 400
    assert chat(observed, f"write to {EMAIL} please").status_code == 200
    text = httpx.get(observed.url + "/metrics", headers={"authorization": f"Bearer {MASTER_KEY}"}).text
    after = scrape(observed)
    name = "gateway_guardrail_actions_total"
    blocked = {"guardrail": "secret-block", "policy": "no-secrets", "action": "block", "stage": "pre_call"}
    masked = {"guardrail": "email-mask", "policy": "pii", "action": "mask", "stage": "pre_call"}
    assert value(after, name, **blocked) - value(before, name, **blocked) == 1
    assert value(after, name, **masked) - value(before, name, **masked) == 1
    assert AWS_KEY not in text and EMAIL not in text
    labels = {dict(found).get("action") for (metric, found) in after if metric == name}
    assert labels <= {"block", "redact", "mask", "warn", "fail_open", "other"}


def test_the_request_span_carries_cache_status_and_guardrail_actions(observed: Gateway, receiver: Receiver) -> None:
    question = "What is the boiling point of water at sea level?"
    assert chat(observed, question, "a" * 32).status_code == 200
    wait_filed(observed, 2)
    assert chat(observed, question, "b" * 32).headers["x-gateway-cache"] == "hit"
    assert chat(observed, f"mail {EMAIL} and use {AWS_KEY}", "c" * 32).status_code == 400
    assert chat(observed, f"mail {EMAIL} the summary", "d" * 32).status_code == 200

    missed, hit = request_span(receiver, "a" * 32), request_span(receiver, "b" * 32)
    assert missed.attributes["gateway.cache.status"] == "miss"
    assert "gateway.cache.similarity" not in missed.attributes
    assert hit.attributes["gateway.cache.status"] == "hit"
    assert hit.attributes["gateway.cache.similarity"] == pytest.approx(1.0)
    assert hit.attributes["gateway.cache.savings.usd"] > 0
    assert "gateway.guardrail.actions" not in hit.attributes

    blocked = request_span(receiver, "c" * 32).attributes
    assert "block" in blocked["gateway.guardrail.actions"]
    index = blocked["gateway.guardrail.actions"].index("block")
    assert blocked["gateway.guardrail.names"][index] == "secret-block"
    assert blocked["gateway.guardrail.policies"][index] == "no-secrets"
    assert blocked["gateway.guardrail.stages"][index] == "pre_call"
    masked = request_span(receiver, "d" * 32).attributes
    assert masked["gateway.guardrail.names"] == ["email-mask"]
    assert masked["gateway.guardrail.actions"] == ["mask"]
    assert masked["gateway.guardrail.entities"] == ["email"]
    for span in (blocked, masked):
        assert all(EMAIL not in str(v) and AWS_KEY not in str(v) for v in span.values())
