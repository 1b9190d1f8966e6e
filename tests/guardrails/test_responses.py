"""Guardrails on ``POST /v1/responses``, through the running gateway, the openai SDK and the fake provider (which
echoes the last user message, "Echo: <text>", streamed one word per delta), for a passed-through model
(``gpt-4o-mini``, ``openai/``) and a translated one (``claude-sonnet``, ``anthropic/``: Responses -> chat ->
Anthropic and back)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
import yaml
from support.config import MASTER_KEY, base_config
from support.contracts import validate_sse_responses_stream
from support.servers import FakeProvider, Gateway, gateway

MODELS = ["gpt-4o-mini", "claude-sonnet"]
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "ada.lovelace@example.org"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY----- MIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu"
POLICIES: dict[str, dict[str, Any]] = {
    "secrets": {"input": [{"type": "secrets", "action": "block"}]},
    "pii-mask": {"input": [{"type": "pii", "action": "mask", "entities": ["email"]}]},
    "pii-redact": {"input": [{"type": "pii", "action": "redact", "entities": ["email"]}]},
    "out-secrets": {"output": [{"type": "secrets", "action": "block"}]},
    "out-redact": {"output": [{"type": "pii", "name": "emails", "action": "redact", "entities": ["email"]}]},
}


@pytest.fixture(scope="module")
def guarded(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("guardrails-responses")
    (tmp / "guardrails").mkdir()
    for name, policy in POLICIES.items():
        (tmp / "guardrails" / f"{name}.yaml").write_text(yaml.safe_dump(policy))
    config = base_config(fake, tmp, gateway={"guardrails": {"policies": ["guardrails/*.yaml"]}})
    config["router_settings"] = {"num_retries": 0}
    with gateway(config, tmp) as server:
        yield server


@pytest.fixture(scope="module")
def sdk(guarded: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=guarded.v1, api_key=MASTER_KEY, max_retries=0, timeout=60) as client:
        yield client


def _upstream(fake: FakeProvider) -> str:
    """What the provider was sent, whole (a Responses body passed through, or the translated Anthropic one)."""
    return str(fake.stats()["last_request"])


REQUESTS: dict[str, dict[str, Any]] = {
    "input text": {"input": f"deploy with {AWS_KEY} please"},
    "instructions": {"input": "deploy", "instructions": f"use the key {AWS_KEY}"},
    "input_text part": {
        "input": [{"role": "user", "content": [{"type": "input_text", "text": f"deploy with {AWS_KEY}"}]}]
    },
    "function_call_output": {
        "input": [
            {"type": "function_call", "call_id": "call_1", "name": "lookup", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": f"the key is {AWS_KEY}"},
        ]
    },
}


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("where", sorted(REQUESTS))
def test_a_blocked_request_never_reaches_the_provider(
    sdk: openai.OpenAI, fake: FakeProvider, model: str, where: str
) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model=model, **REQUESTS[where], extra_body={"guardrails": ["secrets"]})
    assert raised.value.code == "guardrail_violation"
    assert "aws_access_key" in raised.value.message and AWS_KEY not in raised.value.response.text
    assert raised.value.response.headers["x-gateway-guardrails"] == "secrets:block"
    assert fake.stats()["total"] == 0


@pytest.mark.parametrize("model", MODELS)
def test_masked_values_go_upstream_as_placeholders_and_the_user_reads_them_back(
    sdk: openai.OpenAI, fake: FakeProvider, model: str
) -> None:
    raw = sdk.responses.with_raw_response.create(
        model=model, input=f"Write to {EMAIL} today", extra_body={"guardrails": ["pii-mask"]}
    )
    assert "<EMAIL_1>" in _upstream(fake) and EMAIL not in _upstream(fake)
    assert raw.parse().output_text == f"Echo: Write to {EMAIL} today"
    assert raw.headers["x-gateway-guardrails"] == "pii:mask"


@pytest.mark.parametrize("model", MODELS)
def test_redacted_input_items_reach_the_provider_redacted(sdk: openai.OpenAI, fake: FakeProvider, model: str) -> None:
    answer = sdk.responses.create(
        model=model,
        instructions=f"Sign as {EMAIL}",
        input=[{"role": "user", "content": [{"type": "input_text", "text": f"Write to {EMAIL}"}]}],
        extra_body={"guardrails": ["pii-redact"]},
    )
    assert EMAIL not in _upstream(fake) and _upstream(fake).count("<EMAIL>") == 2
    assert answer.output_text == "Echo: Write to <EMAIL>"


@pytest.mark.parametrize("model", MODELS)
def test_a_follow_up_masks_the_stored_conversation_again(sdk: openai.OpenAI, fake: FakeProvider, model: str) -> None:
    mask = {"guardrails": ["pii-mask"]}
    first = sdk.responses.create(model=model, input=f"I am {EMAIL}", extra_body=mask)
    assert first.output_text == f"Echo: I am {EMAIL}"  # stored as the user read it: with the value
    second = sdk.responses.create(model=model, input="and again", previous_response_id=first.id, extra_body=mask)
    assert second.output_text == "Echo: and again"
    assert EMAIL not in _upstream(fake) and "<EMAIL_1>" in _upstream(fake)


@pytest.mark.parametrize("model", MODELS)
def test_a_masked_stream_is_restored_in_the_deltas_and_in_the_final_response(
    sdk: openai.OpenAI, fake: FakeProvider, model: str
) -> None:
    with sdk.responses.stream(
        model=model, input=f"Mail {EMAIL} now", extra_body={"guardrails": ["pii-mask"]}
    ) as stream:
        text = "".join(event.delta for event in stream if event.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == final.output_text == f"Echo: Mail {EMAIL} now"
    assert EMAIL not in _upstream(fake)


@pytest.mark.parametrize("model", MODELS)
def test_a_redacted_stream_never_lets_the_value_out_through_the_whole_copies(guarded: Gateway, model: str) -> None:
    body = {"model": model, "input": f"Mail {EMAIL} now", "stream": True, "guardrails": ["out-redact"]}
    with httpx.stream("POST", guarded.v1 + "/responses", json=body,
                      headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=60) as answer:
        raw = answer.read()
    assert EMAIL.encode() not in raw
    events = validate_sse_responses_stream(raw)
    text = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert text == events[-1]["response"]["output"][0]["content"][0]["text"] == "Echo: Mail <EMAIL> now"


@pytest.mark.parametrize("model", MODELS)
def test_a_secret_in_a_streamed_answer_ends_the_stream_with_an_error_the_sdk_raises(
    sdk: openai.OpenAI, model: str
) -> None:
    # The fake streams one word per delta: the key's header is spread over four of them.
    seen = ""
    with (
        pytest.raises(openai.APIError) as raised,
        sdk.responses.stream(
            model=model, input=f"Here: {PRIVATE_KEY}", extra_body={"guardrails": ["out-secrets"]}
        ) as stream,
    ):
        for event in stream:
            seen += event.delta if event.type == "response.output_text.delta" else ""
    assert raised.value.code == "guardrail_violation"
    assert "guardrail" in raised.value.message and "private_key" in raised.value.message
    assert "PRIVATE" not in seen and "MIIB" not in seen


@pytest.mark.parametrize("model", MODELS)
def test_a_secret_in_a_whole_answer_is_refused(sdk: openai.OpenAI, model: str) -> None:
    with pytest.raises(openai.BadRequestError) as raised:
        sdk.responses.create(model=model, input=f"Here: {AWS_KEY}", extra_body={"guardrails": ["out-secrets"]})
    assert raised.value.code == "guardrail_violation" and AWS_KEY not in raised.value.response.text
