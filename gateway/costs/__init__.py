"""Exact cost per request: token prices from litellm's bundled map (read offline), config overrides, a tiktoken
fallback when the provider reports no usage, and the pipeline stage that prices each request.

Nothing here imports litellm: its price file and tokenizer files are located with ``importlib.util.find_spec``.
"""

from gateway.costs.model_price import ModelPrice, Rates, Tier
from gateway.costs.prices import DeploymentPrices, PriceMap, resolve
from gateway.costs.stage import COST_HEADER, CostStage, format_usd
from gateway.costs.tokens import TokenCounter

__all__ = [
    "COST_HEADER",
    "CostStage",
    "DeploymentPrices",
    "ModelPrice",
    "PriceMap",
    "Rates",
    "Tier",
    "TokenCounter",
    "format_usd",
    "resolve",
]
