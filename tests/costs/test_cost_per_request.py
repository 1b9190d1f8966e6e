"""Every request costs its tokens times its price, through the real gateway and the OpenAI SDK.

Prices are read here straight from litellm's bundled JSON file (not through ``gateway.costs``), so a lookup bug in
the gateway cannot hide itself. Tokens are the usage the SDK received. Models cover the fast path, the litellm
path (Anthropic), per-model price overrides in the config, and a model no price map knows.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import orjson
import pytest
from support.request_log import logged_row
from support.servers import FakeProvider, Gateway, gateway

MASTER = "sk-test-master"
HOUSE_IN, HOUSE_OUT = 1.25e-6, 2.5e-6  # a model only the config prices
DISCOUNT_IN = 1e-7  # overrides the map's input price of gpt-4o-mini; its output price stays the map's


def price_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    data: dict[str, Any] = orjson.loads(
        (Path(spec.origin).parent / "model_prices_and_context_window_backup.json").read_bytes()
    )
    return data


PRICES = price_map()


def model(name: str, litellm_model: str, api_base: str, **params: Any) -> dict[str, Any]:
    params = {"model": litellm_model, "api_base": api_base, "api_key": "k", **params}
    return {"model_name": name, "litellm_params": params}


@pytest.fixture(scope="module")
def priced(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("costs")
    config = {
        "model_list": [
            model("gpt-4o-mini", "openai/gpt-4o-mini", fake.v1),
            model("embed", "openai/text-embedding-3-small", fake.v1),
            model("sonnet", "anthropic/claude-sonnet-4-5", fake.url),
            model("old-sonnet", "anthropic/claude-3-5-sonnet-20241022", fake.url),
            model("house", "openai/house-model", fake.v1,
                  input_cost_per_token=HOUSE_IN, output_cost_per_token=HOUSE_OUT),
            model("discount", "openai/gpt-4o-mini", fake.v1, input_cost_per_token=DISCOUNT_IN),
            model("mystery", "openai/mystery-model", fake.v1),
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
        "gateway": {"log_flush_interval": 0.05},
    }
    with gateway(config, tmp) as server:
        yield server


@pytest.fixture
def sdk(priced: Gateway) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=priced.v1, api_key=MASTER, max_retries=0) as client:
        yield client


def expected(map_name: str, prompt: int, completion: int, input_price: float | None = None) -> float:
    entry = PRICES[map_name]
    price_in = input_price if input_price is not None else entry["input_cost_per_token"]
    return prompt * price_in + completion * entry.get("output_cost_per_token", 0.0)


def chat(sdk: openai.OpenAI, name: str, text: str) -> tuple[Any, dict[str, str]]:
    raw = sdk.chat.completions.with_raw_response.create(model=name, messages=[{"role": "user", "content": text}])
    return raw.parse(), dict(raw.headers)


def streamed(sdk: openai.OpenAI, name: str, text: str, *, usage: bool) -> tuple[str, Any]:
    options = {"stream_options": {"include_usage": True}} if usage else {}
    raw = sdk.chat.completions.with_raw_response.create(
        model=name, messages=[{"role": "user", "content": text}], stream=True, **options
    )
    chunks = list(raw.parse())
    final = chunks[-1].usage if usage else None
    return raw.headers["x-gateway-request-id"], final


@pytest.mark.parametrize(
    ("name", "map_name", "input_price"),
    [
        ("gpt-4o-mini", "gpt-4o-mini", None),
        ("sonnet", "claude-sonnet-4-5", None),
        ("discount", "gpt-4o-mini", DISCOUNT_IN),
    ],
)
def test_a_request_costs_its_tokens_times_the_models_price(
    sdk: openai.OpenAI, priced: Gateway, name: str, map_name: str, input_price: float | None
) -> None:
    reply, headers = chat(sdk, name, "what does this cost exactly")
    usage = reply.usage
    # The fake counts words: 5 words + 3 per message in, the echo's words out.
    assert (usage.prompt_tokens, usage.completion_tokens) == (8, 6)
    cost = expected(map_name, usage.prompt_tokens, usage.completion_tokens, input_price)
    assert float(headers["x-gateway-cost-usd"]) == pytest.approx(cost, rel=1e-9)
    row = logged_row(priced, headers["x-gateway-request-id"])
    assert row["cost_usd"] == pytest.approx(cost, rel=1e-9)
    assert (row["prompt_tokens"], row["completion_tokens"], row["tokens_estimated"]) == (8, 6, 0)


def test_a_price_in_the_config_prices_a_model_the_map_does_not_know(sdk: openai.OpenAI, priced: Gateway) -> None:
    reply, headers = chat(sdk, "house", "priced by the config file")
    cost = reply.usage.prompt_tokens * HOUSE_IN + reply.usage.completion_tokens * HOUSE_OUT
    assert float(headers["x-gateway-cost-usd"]) == pytest.approx(cost, rel=1e-9)
    assert logged_row(priced, headers["x-gateway-request-id"])["cost_usd"] == pytest.approx(cost, rel=1e-9)


@pytest.mark.parametrize(("name", "map_name"), [("gpt-4o-mini", "gpt-4o-mini"), ("sonnet", "claude-sonnet-4-5")])
@pytest.mark.parametrize("client_asks_usage", [True, False])
def test_a_stream_is_costed_in_the_log_whether_or_not_the_client_asked_for_usage(
    sdk: openai.OpenAI, priced: Gateway, name: str, map_name: str, client_asks_usage: bool
) -> None:
    request_id, usage = streamed(sdk, name, "stream me a reply please", usage=client_asks_usage)
    row = logged_row(priced, request_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (8, 6)
    if usage is not None:
        assert (usage.prompt_tokens, usage.completion_tokens) == (8, 6)
    assert row["stream"] == 1 and row["tokens_estimated"] == 0
    assert row["cost_usd"] == pytest.approx(expected(map_name, 8, 6), rel=1e-9)


def test_an_embedding_costs_its_input_tokens(sdk: openai.OpenAI, priced: Gateway) -> None:
    raw = sdk.embeddings.with_raw_response.create(model="embed", input="four words of input")
    tokens = raw.parse().usage.prompt_tokens
    assert tokens > 0
    cost = tokens * PRICES["text-embedding-3-small"]["input_cost_per_token"]
    assert float(raw.headers["x-gateway-cost-usd"]) == pytest.approx(cost, rel=1e-9)


@pytest.mark.parametrize("name", ["old-sonnet", "mystery"])
def test_a_model_without_a_price_is_logged_with_a_null_cost_and_one_warning(
    sdk: openai.OpenAI, priced: Gateway, name: str
) -> None:
    ids = []
    for text in ("first", "second"):
        reply, headers = chat(sdk, name, text)
        assert reply.usage.total_tokens > 0
        assert "x-gateway-cost-usd" not in headers  # unknown, and never a made-up 0
        ids.append(headers["x-gateway-request-id"])
    streamed(sdk, name, "third", usage=True)
    for request_id in ids:
        row = logged_row(priced, request_id)
        assert row["cost_usd"] is None and row["prompt_tokens"] > 0
    upstream = "anthropic/claude-3-5-sonnet-20241022" if name == "old-sonnet" else "openai/mystery-model"
    assert priced.log().count(f"no price known for {upstream} ") == 1
