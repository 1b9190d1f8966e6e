"""Percentiles from a latency histogram (the roll-ups' ``lat_00`` .. ``lat_44`` bucket counts).

The buckets grow geometrically (see ``gateway.db.logs.LATENCY_BOUNDS_MS``), so the value is interpolated
geometrically inside the bucket the rank falls in. The error is below the bucket's width (30%) and, for the
smooth distributions latencies have, usually a few percent.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.db.logs import LATENCY_BOUNDS_MS


def histogram_percentile(counts: Sequence[int], quantile: float) -> float | None:
    total = sum(counts)
    if total <= 0:
        return None
    rank = quantile * total
    seen = 0
    for index, count in enumerate(counts):
        if count and seen + count >= rank:
            lower, upper = _bucket(index)
            fraction = min(max((rank - seen) / count, 0.0), 1.0)
            if lower <= 0:
                return upper * fraction
            return float(lower * (upper / lower) ** fraction)
        seen += count
    return _bucket(len(counts) - 1)[1]


def _bucket(index: int) -> tuple[float, float]:
    bounds = LATENCY_BOUNDS_MS
    lower = bounds[index - 1] if index > 0 else 0.0
    upper = bounds[index] if index < len(bounds) else bounds[-1] * (bounds[-1] / bounds[-2])
    return lower, upper
