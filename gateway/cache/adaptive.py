"""The adaptive mode: similarity thresholds learned online under a wrong-hit bound δ, in the spirit of vCache
(Schroeder et al., "vCache: Verified Semantic Prompt Caching", 2025), written from the paper's idea only.

A would-be hit (a candidate above the configured floor that passed the second-stage check) is served only when
the observations so far show, with 95 % confidence, that hits at that similarity or above are wrong at most a
share δ of the time. Otherwise it is a miss, and with probability ``explore_rate`` the fresh answer is compared
with the cached one (answer embeddings at least ``answer_agreement`` alike count as the same answer): that
observation (similarity, agreed) teaches the entry. An entry decides from its own observations once it has
``OWN_EVIDENCE`` of them, else from its namespace's pooled ones, else from the whole process's.

The learned threshold is the lowest observed similarity t such that the Wilson upper bound of the error share
among the observations at t or above is at most δ: serving only at or above it bounds the share of served hits
that are wrong, which is the figure the docs report.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

OWN_EVIDENCE = 5
POOL_EVIDENCE = 20
MAX_POOL = 2000
_Z = 1.96

Decision = Literal["hit", "explore", "miss"]


def wilson_upper(errors: int, total: int, z: float = _Z) -> float:
    """The upper end of the Wilson score interval of an error share ``errors / total``."""
    if total == 0:
        return 1.0
    share = errors / total
    centre = share + z * z / (2 * total)
    spread = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
    return min(1.0, (centre + spread) / (1 + z * z / total))


def learned_threshold(observations: Sequence[tuple[float, bool]], delta: float) -> float | None:
    """The lowest similarity at and above which the observed hits are wrong at most ``delta`` (95 % upper
    bound); None when no similarity has that evidence yet."""
    errors = 0
    best = None
    for count, (similarity, agreed) in enumerate(sorted(observations, key=lambda o: -o[0]), start=1):
        errors += not agreed
        if wilson_upper(errors, count) <= delta:
            best = similarity
    return best


@dataclass(slots=True)
class Evidence:
    """Observations, newest last, bounded, with their learned threshold kept up to date."""

    delta: float
    observations: list[tuple[float, bool]] = field(default_factory=list)
    threshold: float | None = None

    def add(self, similarity: float, agreed: bool) -> None:
        self.observations.append((similarity, agreed))
        del self.observations[:-MAX_POOL]
        self.threshold = learned_threshold(self.observations, self.delta)


def decide(
    similarity: float, layers: Sequence[Evidence], explore_rate: float, rng: random.Random | None = None
) -> Decision:
    """Serve, explore (forward and compare) or miss, from the first layer (entry, namespace, process) that has
    enough observations."""
    minimums = (OWN_EVIDENCE, POOL_EVIDENCE, POOL_EVIDENCE)
    for evidence, minimum in zip(layers, minimums, strict=False):
        if len(evidence.observations) >= minimum:
            if evidence.threshold is not None and similarity >= evidence.threshold:
                return "hit"
            break
    return "explore" if (rng or random).random() < explore_rate else "miss"
