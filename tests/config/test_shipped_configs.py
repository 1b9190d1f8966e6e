"""The configs the repository ships load, and every model in them has a price, so a first cost report is complete."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.costs.prices import PriceMap

CONFIGS = Path(__file__).resolve().parents[2] / "config"
ENVIRON = {"OPENAI_API_KEY": "sk-test", "ANTHROPIC_API_KEY": "sk-ant-test", "GATEWAY_MASTER_KEY": "sk-gw-test-master",
           "GATEWAY_METRICS_TOKEN": "scrape-test-token"}


@pytest.mark.parametrize("name", ["demo.yaml", "real.yaml", "compose.yaml"])
def test_every_shipped_model_has_a_price(name: str) -> None:
    config = load_config(CONFIGS / name, environ=ENVIRON)
    prices = PriceMap.load()
    unpriced = [
        entry.litellm_params.model
        for entry in config.model_list
        if prices.lookup(*entry.litellm_params.provider_and_name()) is None
    ]
    assert unpriced == [], f"{name}: no price in litellm's map for {unpriced}"
