"""A request body or header never chooses where or how the gateway connects (issue 8, defect 1).

The attacker's server records every request: it must receive nothing, while the request still goes to the
configured provider (the fake) with the configured credentials only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from support.capture import Capture, capture_server
from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    """The shared config (litellm and fast-path deployments), with time for litellm's import on a busy machine."""
    tmp = tmp_path_factory.mktemp("isolation")
    with gateway(base_config(fake, tmp), tmp, ready_timeout=120) as server:
        yield server


@pytest.fixture
def attacker() -> Iterator[Capture]:
    with capture_server(reply=b'{"id": "pwned"}') as server:
        yield server


def hijack(url: str) -> dict[str, Any]:
    """Every litellm and SDK setting that names a host, a credential, headers or the client's behaviour."""
    return {
        "base_url": url,
        "api_base": url,
        "api_key": "sk-attacker",
        "api_version": "2099-01-01",
        "extra_headers": {"x-injected": "1", "x-api-key": "sk-attacker"},
        "headers": {"x-injected": "1"},
        "custom_llm_provider": "openai",
        "mock_response": "pwned",
        "num_retries": 7,
        "aws_region_name": "attacker-1",
        "vertex_project": "attacker",
        "azure_ad_token": "attacker",
        "extra_body": {"api_base": url},
        "callbacks": ["attacker"],
    }


def assert_untouched(attacker: Capture, fake: FakeProvider) -> None:
    assert attacker.requests == [], "the attacker's server was contacted"
    headers = fake.stats()["last_headers"]
    assert "x-injected" not in headers
    assert headers.get("anthropic-version", "2023-06-01") != "2099-01-01"


@pytest.mark.parametrize("field", ["base_url", "api_base", "extra_headers", "mock_response", "custom_llm_provider"])
def test_a_litellm_deployment_ignores_connection_fields_in_the_body(
    client: openai.OpenAI, fake: FakeProvider, attacker: Capture, field: str
) -> None:
    body = {field: hijack(attacker.url)[field]}
    reply = client.chat.completions.create(model="claude-sonnet", messages=HELLO, extra_body=body)
    assert reply.choices[0].message.content == "Echo: hi", "answered by the configured provider"
    assert fake.count("claude-3-5-sonnet-20241022", "/v1/messages") == 1
    assert_untouched(attacker, fake)


def test_a_litellm_deployment_ignores_all_of_them_at_once(
    client: openai.OpenAI, fake: FakeProvider, attacker: Capture
) -> None:
    reply = client.chat.completions.create(model="claude-sonnet", messages=HELLO, extra_body=hijack(attacker.url))
    assert reply.choices[0].message.content == "Echo: hi"
    assert_untouched(attacker, fake)


def test_a_litellm_stream_ignores_connection_fields_in_the_body(
    client: openai.OpenAI, fake: FakeProvider, attacker: Capture
) -> None:
    stream = client.chat.completions.create(
        model="claude-sonnet", messages=HELLO, stream=True, extra_body=hijack(attacker.url)
    )
    assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices) == "Echo: hi"
    assert_untouched(attacker, fake)


def test_provider_sampling_fields_still_reach_a_litellm_deployment(client: openai.OpenAI, fake: FakeProvider) -> None:
    client.chat.completions.create(model="claude-sonnet", messages=HELLO, extra_body={"top_k": 5})
    assert fake.stats()["last_request"]["top_k"] == 5


def test_the_fast_path_sends_only_the_configured_url_and_headers(
    gw: Gateway, fake: FakeProvider, attacker: Capture
) -> None:
    headers = {"x-injected": "1", "x-forwarded-host": attacker.url, "openai-organization": "attacker"}
    with openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0, default_headers=headers) as sdk:
        reply = sdk.chat.completions.create(model="gpt-4o-mini", messages=HELLO, extra_body=hijack(attacker.url))
    assert reply.choices[0].message.content == "Echo: hi"
    assert fake.count("gpt-4o-mini") == 1
    assert_untouched(attacker, fake)
    upstream = fake.stats()["last_headers"]
    assert "x-forwarded-host" not in upstream and "openai-organization" not in upstream


def test_the_anthropic_translation_ignores_connection_fields(
    claude: anthropic.Anthropic, fake: FakeProvider, attacker: Capture
) -> None:
    message = claude.messages.create(
        model="claude-sonnet",
        max_tokens=16,
        messages=HELLO,
        extra_body=hijack(attacker.url),  # type: ignore[arg-type]
    )
    assert message.content[0].text == "Echo: hi"  # type: ignore[union-attr]
    assert_untouched(attacker, fake)
