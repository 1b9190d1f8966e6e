"""A deployment: one upstream model behind a public ``model_name``, with its live health.

Health (in-flight count, latency, failures, cooldown) is kept per process. It only steers load balancing, so
replicas learning it each on their own is correct, merely a little slower to react than shared state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.providers.base import Provider


@dataclass(slots=True)
class Prices:
    """Per-deployment price overrides from the config, USD. ``None`` means: use the price map."""

    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    cache_read_input_token_cost: float | None = None
    cache_creation_input_token_cost: float | None = None
    #: ``model_info.base_model``: the price map's name for this deployment's model (LiteLLM's Azure convention).
    base_model: str | None = None


@dataclass(eq=False, slots=True)
class Deployment:
    id: str
    model_name: str
    provider_name: str
    upstream_model: str
    provider: Provider
    fast_path: bool
    timeout: float
    stream_timeout: float
    weight: float = 1.0
    rpm: int | None = None
    tpm: int | None = None
    prices: Prices = field(default_factory=Prices)
    tags: tuple[str, ...] = ()  #: ``litellm_params.tags``, for tag routing
    #: Request fields from ``litellm_params`` (temperature, max_tokens...), sent unless the request sets them.
    defaults: dict[str, Any] = field(default_factory=dict)
    #: The provider's own token count of an Anthropic Messages body, where it has one (Anthropic's).
    count_tokens: Callable[[dict[str, Any]], Awaitable[int]] | None = None
    in_flight: int = 0
    latency_ewma: float | None = None
    consecutive_failures: int = 0
    cooldown_until: float = 0.0

    def available(self, now: float) -> bool:
        return now >= self.cooldown_until

    def record_success(self, seconds: float, alpha: float) -> None:
        self.consecutive_failures = 0
        previous = self.latency_ewma
        self.latency_ewma = seconds if previous is None else previous + alpha * (seconds - previous)

    def record_failure(self, now: float, allowed_fails: int, cooldown: float) -> bool:
        """Count a failure; returns True when it puts the deployment into cooldown."""
        self.consecutive_failures += 1
        if cooldown > 0 and self.consecutive_failures >= allowed_fails:
            self.cooldown_until = now + cooldown
            self.consecutive_failures = 0
            return True
        return False
