"""Load-balancing strategies: each picks one deployment among the healthy candidates of a model name."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from gateway.config.models import RoutingStrategy
from gateway.routing.deployment import Deployment

Strategy = Callable[[Sequence[Deployment], random.Random], Deployment]


def weighted_shuffle(candidates: Sequence[Deployment], rng: random.Random) -> Deployment:
    """LiteLLM's simple-shuffle: random, in proportion to ``weight``."""
    if len(candidates) == 1:
        return candidates[0]
    weights = [d.weight for d in candidates]
    if not any(weights):
        return rng.choice(candidates)
    return rng.choices(candidates, weights=weights, k=1)[0]


def least_busy(candidates: Sequence[Deployment], rng: random.Random) -> Deployment:
    """The deployment with the fewest requests in flight; ties are broken at random."""
    fewest = min(d.in_flight for d in candidates)
    return rng.choice([d for d in candidates if d.in_flight == fewest])


def lowest_latency(candidates: Sequence[Deployment], rng: random.Random) -> Deployment:
    """The deployment with the lowest recent latency. One never measured is tried first, to learn it."""
    unmeasured = [d for d in candidates if d.latency_ewma is None]
    if unmeasured:
        return rng.choice(unmeasured)
    return min(candidates, key=lambda d: d.latency_ewma or 0.0)


STRATEGIES: dict[RoutingStrategy, Strategy] = {
    "simple-shuffle": weighted_shuffle,
    "least-busy": least_busy,
    "latency-based-routing": lowest_latency,
}
