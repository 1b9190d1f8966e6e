"""Scraping a running gateway's ``GET /metrics`` into samples keyed by name and labels."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from support.config import MASTER_KEY
from support.servers import Gateway

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(server: Gateway, key: str = MASTER_KEY) -> Samples:
    response = httpx.get(server.url + "/metrics", headers={"authorization": f"Bearer {key}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
