"""Upstream faults with a fallback: one request in five meets a fault on the primary deployment (5xx, 429, a
dropped connection, a timeout) and clients do not notice: at least 99.9 % of them get a 200.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support.resilience import MASTER_KEY, READY, resilience_config
from support.servers import FakeProvider, gateway
from support.traffic import chat, drive

pytestmark = pytest.mark.slow

REQUESTS = 1000
FAULT_EVERY = 5  # 20 %
FAULTS: list[dict[str, Any]] = [
    {"kind": "status", "status": 503},
    {"kind": "status", "status": 500},
    {"kind": "status", "status": 429},
    {"kind": "status", "status": 502},
    {"kind": "cut"},
    {"kind": "timeout", "latency_ms": 1500},  # the deployment times out after 1 s
]


async def test_twenty_percent_upstream_faults_leave_at_least_999_in_1000_requests_served(
    upstream: FakeProvider, tmp_path: Path
) -> None:
    upstream.reset()
    config = resilience_config(upstream, f"sqlite:///{tmp_path / 'gateway.db'}", tmp_path / "spill.jsonl")

    def inject(index: int) -> None:
        if index % FAULT_EVERY == 0:
            fault = FAULTS[(index // FAULT_EVERY) % len(FAULTS)]
            upstream.add_fault(model="gpt-4o-mini", path="/v1/chat/completions", count=1, **fault)

    with gateway(config, tmp_path, ready_timeout=READY) as server:
        run = await drive(server.url, MASTER_KEY, chat("primary"), count=REQUESTS, concurrency=20, before=inject,
                          time_limit=40)
        stats = upstream.stats()

    assert len(run.outcomes) == REQUESTS, run.summary()
    assert run.success_rate() >= 0.999, run.summary()
    # The faults were met, and answered by retries and the fallback: more upstream calls than client requests.
    assert stats["total"] > REQUESTS + REQUESTS // (2 * FAULT_EVERY), stats["requests"]
