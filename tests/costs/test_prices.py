"""Unit tests of price lookup and arithmetic (``gateway.costs.prices``)."""

from __future__ import annotations

import sys

import pytest

from gateway.costs.prices import ModelPrice, PriceMap, resolve
from gateway.pipeline.usage import Usage
from gateway.routing.deployment import Prices

MAP = PriceMap.from_dict(
    {
        "sample_spec": {"input_cost_per_token": 0.0, "output_cost_per_token": 0.0},
        "gpt-4o-mini": {
            "litellm_provider": "openai",
            "input_cost_per_token": 1.5e-7,
            "output_cost_per_token": 6e-7,
            "cache_read_input_token_cost": 7.5e-8,
        },
        "azure/gpt-4o-mini": {
            "litellm_provider": "azure", "input_cost_per_token": 1.65e-7, "output_cost_per_token": 6.6e-7
        },
        "o-think": {
            "litellm_provider": "openai",
            "input_cost_per_token": 1e-6,
            "output_cost_per_token": 4e-6,
            "output_cost_per_reasoning_token": 8e-6,
        },
        "gemini-pro": {"litellm_provider": "vertex_ai-language-models", "input_cost_per_token": 1e-6,
                       "output_cost_per_token": 2e-6},
        "image-only": {"litellm_provider": "openai", "output_cost_per_image": 0.04},
    }
)


def test_the_provider_qualified_name_wins_over_the_bare_name() -> None:
    found = MAP.lookup("azure", "gpt-4o-mini")
    assert found is not None and found.input == 1.65e-7


def test_a_bare_name_counts_only_for_its_own_provider_family() -> None:
    assert MAP.lookup("openai", "gpt-4o-mini") is not None
    assert MAP.lookup("vertex_ai", "gemini-pro") is not None  # vertex_ai-language-models is vertex_ai's family
    assert MAP.lookup("hosted_vllm", "gpt-4o-mini") is None  # a local server serving that name is not OpenAI
    assert MAP.lookup("openai", "image-only") is None  # no token price at all
    assert MAP.lookup("openai", "sample_spec") is None


def test_cached_input_and_reasoning_tokens_have_their_own_prices() -> None:
    mini = MAP.lookup("openai", "gpt-4o-mini")
    assert mini is not None
    # 1000 prompt tokens of which 400 cached; 100 completion tokens.
    cost = mini.cost(Usage(prompt_tokens=1000, completion_tokens=100, cached_tokens=400))
    assert cost == pytest.approx(600 * 1.5e-7 + 400 * 7.5e-8 + 100 * 6e-7, rel=1e-12)
    think = MAP.lookup("openai", "o-think")
    assert think is not None
    cost = think.cost(Usage(prompt_tokens=10, completion_tokens=50, reasoning_tokens=30))
    assert cost == pytest.approx(10 * 1e-6 + 20 * 4e-6 + 30 * 8e-6, rel=1e-12)


def test_reasoning_tokens_fall_back_to_the_output_price() -> None:
    mini = MAP.lookup("openai", "gpt-4o-mini")
    assert mini is not None
    plain = mini.cost(Usage(prompt_tokens=0, completion_tokens=50))
    assert mini.cost(Usage(prompt_tokens=0, completion_tokens=50, reasoning_tokens=30)) == pytest.approx(plain)


def test_config_overrides_win_field_by_field() -> None:
    found = MAP.lookup("openai", "gpt-4o-mini")
    price = resolve(found, Prices(input_cost_per_token=1e-6))
    assert price is not None
    assert (price.input, price.output, price.cache_read) == (1e-6, 6e-7, 7.5e-8)
    assert resolve(None, Prices()) is None  # unknown everywhere: unpriced, never 0
    own = resolve(None, Prices(input_cost_per_token=2e-6, output_cost_per_token=3e-6))
    assert own is not None and own.cost(Usage(prompt_tokens=1, completion_tokens=1)) == pytest.approx(5e-6)


def test_a_missing_output_price_makes_a_completion_unpriced_but_not_an_embedding() -> None:
    price = ModelPrice(input=1e-6, output=None)
    assert price.cost(Usage(prompt_tokens=10, completion_tokens=5)) is None
    assert price.cost(Usage(prompt_tokens=10)) == pytest.approx(1e-5)


def test_the_bundled_map_is_read_without_importing_litellm() -> None:
    already = "litellm" in sys.modules
    prices = PriceMap.load()
    assert len(prices) > 1000
    found = prices.lookup("openai", "gpt-4o-mini")
    assert found is not None and found.input and found.output
    if not already:
        assert "litellm" not in sys.modules
