"""Unit tests of price lookup and arithmetic (``gateway.costs.prices``)."""

from __future__ import annotations

import sys

import pytest

from gateway.costs import ModelPrice, PriceMap, resolve
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
    price = resolve(found, Prices(input_cost_per_token=1e-6, cache_read_input_token_cost=2e-7))
    assert price is not None
    assert (price.input, price.output, price.cache_read) == (1e-6, 6e-7, 2e-7)
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


def test_a_config_input_price_scales_the_maps_cache_prices_so_cached_tokens_stay_cheaper() -> None:
    found = MAP.lookup("openai", "gpt-4o-mini")  # cache reads at half the input price
    price = resolve(found, Prices(input_cost_per_token=1e-8))
    assert price is not None and price.cache_read == pytest.approx(5e-9)
    cached = price.cost(Usage(prompt_tokens=1000, cached_tokens=1000))
    uncached = price.cost(Usage(prompt_tokens=1000))
    assert cached is not None and uncached is not None and cached < uncached


SONNET = PriceMap.from_dict(
    {
        "claude-sonnet-4-5": {
            "litellm_provider": "anthropic",
            "input_cost_per_token": 3e-6,
            "output_cost_per_token": 1.5e-5,
            "cache_read_input_token_cost": 3e-7,
            "cache_creation_input_token_cost": 3.75e-6,
            "cache_creation_input_token_cost_above_1hr": 6e-6,
            "input_cost_per_token_above_200k_tokens": 6e-6,
            "output_cost_per_token_above_200k_tokens": 2.25e-5,
            "cache_creation_input_token_cost_above_200k_tokens": 7.5e-6,
            "input_cost_per_token_above_200k_tokens_priority": 1.0,  # another service tier: never applied
            "max_output_tokens": 64000,
        },
        "gemini-2.5-pro": {
            "litellm_provider": "gemini",
            "input_cost_per_token": 1.25e-6,
            "output_cost_per_token": 1e-5,
            "input_cost_per_token_above_200k_tokens": 2.5e-6,
            "output_cost_per_token_above_200k_tokens": 1.5e-5,
        },
        "qwen-flash": {
            "litellm_provider": "dashscope",
            "tiered_pricing": [
                {"input_cost_per_token": 5e-8, "output_cost_per_token": 4e-7, "range": [0, 256000.0]},
                {"input_cost_per_token": 2.5e-7, "output_cost_per_token": 2e-6, "range": [256000.0, 1e6]},
            ],
        },
    }
)


def test_cache_writes_are_priced_at_the_cache_write_price_and_1_hour_writes_at_theirs() -> None:
    sonnet = SONNET.lookup("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None and sonnet.max_output_tokens == 64000
    # The case: 100 plain input tokens, 2,000 written to the cache, 300 out: $0.0123, not $0.0108.
    usage = Usage(prompt_tokens=2100, completion_tokens=300, cache_write_tokens=2000)
    assert sonnet.cost(usage) == pytest.approx(0.0123, rel=1e-12)
    mixed = Usage(prompt_tokens=2600, completion_tokens=300, cached_tokens=500, cache_write_tokens=2000,
                  cache_write_1h_tokens=500)
    expected = 100 * 3e-6 + 500 * 3e-7 + 1500 * 3.75e-6 + 500 * 6e-6 + 300 * 1.5e-5
    assert sonnet.cost(mixed) == pytest.approx(expected, rel=1e-12)


def test_a_prompt_above_a_tier_threshold_is_priced_at_the_tier_for_the_whole_request() -> None:
    gemini = SONNET.lookup("gemini", "gemini-2.5-pro")
    assert gemini is not None
    # The case: 250k prompt tokens, 1,000 out: $0.64, not $0.3225.
    assert gemini.cost(Usage(prompt_tokens=250_000, completion_tokens=1000)) == pytest.approx(0.64, rel=1e-12)
    assert gemini.cost(Usage(prompt_tokens=200_000, completion_tokens=1000)) == pytest.approx(0.26, rel=1e-12)
    sonnet = SONNET.lookup("anthropic", "claude-sonnet-4-5")
    assert sonnet is not None
    # Above 200k the cache-write price has its own tier; the cache-read price keeps its base (no tier given).
    usage = Usage(prompt_tokens=300_000, completion_tokens=10, cached_tokens=50_000, cache_write_tokens=50_000)
    expected = 200_000 * 6e-6 + 50_000 * 3e-7 + 50_000 * 7.5e-6 + 10 * 2.25e-5
    assert sonnet.cost(usage) == pytest.approx(expected, rel=1e-12)


def test_a_ranged_tier_table_prices_a_model_that_has_no_flat_price() -> None:
    qwen = SONNET.lookup("dashscope", "qwen-flash")
    assert qwen is not None
    assert qwen.cost(Usage(prompt_tokens=1000, completion_tokens=10)) == pytest.approx(1000 * 5e-8 + 10 * 4e-7)
    assert qwen.cost(Usage(prompt_tokens=300_000, completion_tokens=10)) == pytest.approx(300_000 * 2.5e-7 + 10 * 2e-6)


def test_a_configured_price_is_flat_the_maps_tiers_are_for_the_maps_prices() -> None:
    gemini = SONNET.lookup("gemini", "gemini-2.5-pro")
    price = resolve(gemini, Prices(input_cost_per_token=1e-6, output_cost_per_token=2e-6))
    assert price is not None and price.tiers == ()
    assert price.cost(Usage(prompt_tokens=250_000)) == pytest.approx(0.25)
