"""Percentiles from a latency histogram (the roll-ups' ``lat_00`` .. ``lat_44`` bucket counts).

The buckets grow geometrically (see ``gateway.db.logs.LATENCY_BOUNDS_MS``), so the value is interpolated
geometrically inside the bucket the rank falls in. The error is below the bucket's width (30%) and, for the
smooth distributions latencies have, usually a few percent.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.db.logs import LATENCY_BOUNDS_MS


def histogram_percentile(counts: Sequence[int], quantile: float) -> float | None:
    return histogram_percentiles(counts, (quantile,))[0]


def histogram_percentiles(counts: Sequence[int], quantiles: Sequence[float]) -> tuple[float | None, ...]:
    """Several percentiles in one pass over the buckets; ``quantiles`` ascending."""
    total = sum(counts)
    if total <= 0:
        return tuple(None for _ in quantiles)
    found: list[float | None] = []
    seen = 0
    index = 0
    for quantile in quantiles:
        rank = quantile * total
        while index < len(counts) - 1 and seen + counts[index] < rank:
            seen += counts[index]
            index += 1
        found.append(_interpolate(index, counts[index], rank - seen))
    return tuple(found)


def _interpolate(index: int, count: int, into: float) -> float:
    lower, upper = _bucket(index)
    fraction = min(max(into / count, 0.0), 1.0) if count else 1.0
    if lower <= 0:
        return upper * fraction
    return float(lower * (upper / lower) ** fraction)


def _bucket(index: int) -> tuple[float, float]:
    bounds = LATENCY_BOUNDS_MS
    lower = bounds[index - 1] if index > 0 else 0.0
    upper = bounds[index] if index < len(bounds) else bounds[-1] * (bounds[-1] / bounds[-2])
    return lower, upper
