"""The gateway's cost equals litellm's ``completion_cost`` for the same usage: a matrix of real price-map models
(OpenAI with cached tokens, a reasoning model, Anthropic with cache reads and 5-minute and 1-hour cache writes,
Gemini above its 200k tier with thinking tokens, embeddings, an Azure deployment priced through
``model_info.base_model``), through the running gateway, streamed and not.

The fake provider is told which usage to report (``/_fake/usage``); litellm prices the usage the client received.
litellm is the reference: it is imported here, in the test process, never by the gateway's cost code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anthropic
import litellm
import openai
import pytest
from support.request_log import logged_row
from support.servers import FakeProvider, Gateway, fake_provider, gateway

MASTER = "sk-test-master"


@dataclass(frozen=True)
class Case:
    name: str  # the gateway's model name
    upstream: str  # litellm_params.model
    reference: str  # the price map's name litellm prices it under
    usage: dict[str, Any]  # what the fake reports, in the provider's own shape
    endpoint: str = "chat"
    base_model: str | None = None


CASES = [
    Case("gpt-4o", "openai/gpt-4o", "gpt-4o",
         {"prompt_tokens": 3000, "completion_tokens": 200, "prompt_tokens_details": {"cached_tokens": 1024}}),
    Case("o3-mini", "openai/o3-mini", "o3-mini",
         {"prompt_tokens": 50, "completion_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 20},
          "completion_tokens_details": {"reasoning_tokens": 600}}),
    Case("sonnet", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5",
         {"input_tokens": 100, "output_tokens": 300, "cache_creation_input_tokens": 2000,
          "cache_read_input_tokens": 500,
          "cache_creation": {"ephemeral_5m_input_tokens": 1500, "ephemeral_1h_input_tokens": 500}}),
    Case("sonnet-writes", "anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5-20250929",
         {"input_tokens": 100, "output_tokens": 300, "cache_creation_input_tokens": 2000}),
    Case("gemini-pro", "openai/gemini-pro-proxy", "gemini/gemini-2.5-pro",
         {"prompt_tokens": 250_000, "completion_tokens": 1000, "completion_tokens_details": {"reasoning_tokens": 600}},
         base_model="gemini/gemini-2.5-pro"),
    Case("gemini-pro-small", "openai/gemini-pro-proxy-small", "gemini/gemini-2.5-pro",
         {"prompt_tokens": 150_000, "completion_tokens": 1000, "prompt_tokens_details": {"cached_tokens": 100_000},
          "completion_tokens_details": {"reasoning_tokens": 600}},
         base_model="gemini/gemini-2.5-pro"),
    Case("gemini-flash", "openai/gemini-flash-proxy", "gemini/gemini-2.5-flash",
         {"prompt_tokens": 4000, "completion_tokens": 900, "completion_tokens_details": {"reasoning_tokens": 700}},
         base_model="gemini/gemini-2.5-flash"),
    Case("azure-gpt-4o", "openai/my-gpt-4o-prod", "azure/gpt-4o",
         {"prompt_tokens": 1200, "completion_tokens": 80}, base_model="azure/gpt-4o"),
    Case("embed", "openai/text-embedding-3-small", "text-embedding-3-small", {"prompt_tokens": 4321},
         endpoint="embeddings"),
]
STREAMED = [case for case in CASES if case.endpoint == "chat"]


def _entry(case: Case, fake: FakeProvider) -> dict[str, Any]:
    api_base = fake.url if case.upstream.startswith("anthropic/") else fake.v1
    entry: dict[str, Any] = {
        "model_name": case.name,
        "litellm_params": {"model": case.upstream, "api_base": api_base, "api_key": "k"},
    }
    if case.base_model:
        entry["model_info"] = {"base_model": case.base_model}
    return entry


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Gateway, FakeProvider]]:
    tmp = tmp_path_factory.mktemp("matrix")
    with fake_provider() as fake:
        config = {
            "model_list": [_entry(case, fake) for case in CASES],
            "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
            "gateway": {"log_flush_interval": 0.05},
        }
        for case in CASES:
            fake.script_usage(case.upstream.split("/", 1)[1], case.usage)
        with gateway(config, tmp) as server:
            yield server, fake


@pytest.fixture
def sdk(matrix: tuple[Gateway, FakeProvider]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=matrix[0].v1, api_key=MASTER, max_retries=0) as client:
        yield client


def litellm_cost(case: Case, usage: dict[str, Any]) -> float:
    response = litellm.ModelResponse(model=case.reference, usage=litellm.Usage(**usage))
    return float(litellm.completion_cost(completion_response=response, model=case.reference))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_a_non_streamed_request_costs_what_litellm_says(
    case: Case, sdk: openai.OpenAI, matrix: tuple[Gateway, FakeProvider]
) -> None:
    if case.endpoint == "embeddings":
        raw: Any = sdk.embeddings.with_raw_response.create(model=case.name, input="some words to embed")
    else:
        raw = sdk.chat.completions.with_raw_response.create(
            model=case.name, messages=[{"role": "user", "content": "price this exactly"}]
        )
    usage = raw.parse().usage.model_dump(exclude_none=True)
    expected = litellm_cost(case, usage)
    assert expected > 0
    assert float(raw.headers["x-gateway-cost-usd"]) == pytest.approx(expected, rel=1e-12, abs=0)
    row = logged_row(matrix[0], raw.headers["x-gateway-request-id"])
    assert row["cost_usd"] == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("case", STREAMED, ids=lambda case: case.name)
def test_a_streamed_request_costs_what_litellm_says(
    case: Case, sdk: openai.OpenAI, matrix: tuple[Gateway, FakeProvider]
) -> None:
    raw = sdk.chat.completions.with_raw_response.create(
        model=case.name, messages=[{"role": "user", "content": "stream this"}], stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(raw.parse())
    usage = chunks[-1].usage.model_dump(exclude_none=True)
    row = logged_row(matrix[0], raw.headers["x-gateway-request-id"])
    assert row["cost_usd"] == pytest.approx(litellm_cost(case, usage), rel=1e-12, abs=0)


def test_cache_writes_are_logged_and_told_to_anthropic_clients(matrix: tuple[Gateway, FakeProvider]) -> None:
    server, _ = matrix
    with anthropic.Anthropic(base_url=server.url, api_key=MASTER, max_retries=0) as claude:
        raw = claude.messages.with_raw_response.create(
            model="sonnet", max_tokens=64, messages=[{"role": "user", "content": "cache me"}]
        )
        usage = raw.parse().usage
        counts = (usage.input_tokens, usage.cache_read_input_tokens, usage.cache_creation_input_tokens)
        assert counts == (100, 500, 2000)
        assert usage.cache_creation is not None
        assert (usage.cache_creation.ephemeral_5m_input_tokens, usage.cache_creation.ephemeral_1h_input_tokens) == (
            1500, 500,
        )
        with claude.messages.stream(
            model="sonnet-writes", max_tokens=64, messages=[{"role": "user", "content": "cache me"}]
        ) as stream:
            final = stream.get_final_message().usage
            streamed_id = stream.response.headers["x-gateway-request-id"]
        assert (final.input_tokens, final.cache_creation_input_tokens, final.output_tokens) == (100, 2000, 300)
    row = logged_row(server, raw.headers["x-gateway-request-id"])
    assert (row["prompt_tokens"], row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (2600, 2000, 500)
    row = logged_row(server, streamed_id)
    assert (row["prompt_tokens"], row["cache_write_tokens"], row["cache_write_1h_tokens"]) == (2100, 2000, 0)
    # The figure: $0.0123 where the plain input price gave $0.0108.
    assert row["cost_usd"] == pytest.approx(0.0123, rel=1e-12)
