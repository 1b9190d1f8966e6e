"""Percentiles read from the roll-ups' latency histogram stay close to the exact ones."""

from __future__ import annotations

import random
import statistics

import pytest

from gateway.db.logs import LATENCY_COLUMNS, latency_bucket
from gateway.reports.percentiles import histogram_percentile


def histogram(values: list[float]) -> list[int]:
    counts = [0] * len(LATENCY_COLUMNS)
    for value in values:
        counts[latency_bucket(value)] += 1
    return counts


@pytest.mark.parametrize("seed", range(5))
def test_p50_and_p95_from_the_histogram_are_within_a_bucket_of_the_exact_values(seed: int) -> None:
    rng = random.Random(seed)
    latencies = [rng.lognormvariate(6.5, 0.8) for _ in range(20_000)]  # LLM-like: median ~ 650 ms, long tail
    exact = statistics.quantiles(latencies, n=100)
    counts = histogram(latencies)
    p50, p95 = histogram_percentile(counts, 0.5), histogram_percentile(counts, 0.95)
    assert p50 is not None and p95 is not None
    assert p50 == pytest.approx(exact[49], rel=0.05)
    assert p95 == pytest.approx(exact[94], rel=0.05)


def test_an_empty_histogram_has_no_percentiles() -> None:
    assert histogram_percentile([0] * len(LATENCY_COLUMNS), 0.5) is None


def test_a_single_request_lies_inside_its_bucket() -> None:
    counts = histogram([123.0])
    value = histogram_percentile(counts, 0.5)
    assert value is not None and 123.0 / 1.3 < value < 123.0 * 1.3
