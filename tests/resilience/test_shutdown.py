"""SIGTERM under load: requests in flight finish (a stream ends with its last event or an error event, never
silently), and their records are written, or spilled when the database is down and replayed at the next start.
"""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest
from support.pgcluster import PgCluster
from support.resilience import MASTER_KEY, READY, logged_ids, resilience_config, wait_for_ids
from support.servers import FakeProvider, Gateway, gateway
from support.traffic import Run, chat, drive

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

IN_FLIGHT = 40


def half_streams(index: int) -> dict[str, object]:
    body = chat("slow")(index)
    return {**body, "stream": True} if index % 2 else body


async def terminate_under_load(server: Gateway, upstream: FakeProvider) -> Run:
    """``IN_FLIGHT`` slow requests (1.5 s upstream), SIGTERM once they have all reached the upstream."""
    load = asyncio.create_task(
        drive(server.url, MASTER_KEY, half_streams, count=IN_FLIGHT, concurrency=IN_FLIGHT, time_limit=30)
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if upstream.count("slow-1500") >= IN_FLIGHT:
            break
        await asyncio.sleep(0.05)
    server.process.send_signal(signal.SIGTERM)
    run = await load
    # uvicorn re-raises the signal once its graceful shutdown is complete: -SIGTERM is a clean exit too.
    assert await asyncio.to_thread(server.process.wait, 40) in (0, -signal.SIGTERM), server.log()[-2000:]
    return run


def finished_or_errored(run: Run) -> list[str]:
    """Outcomes that are neither a full answer nor a stream closed with an error event."""
    return [f"{o.status} {o.failure}" for o in run.outcomes if not o.ok and "(error event)" not in (o.failure or "")]


async def test_sigterm_lets_requests_in_flight_finish_and_writes_their_records(
    upstream: FakeProvider, database_url: str, tmp_path: Path
) -> None:
    upstream.reset()
    config = resilience_config(upstream, database_url, tmp_path / "spill.jsonl")
    with gateway(config, tmp_path, ready_timeout=READY) as server:
        run = await terminate_under_load(server, upstream)
    assert not finished_or_errored(run), run.summary()
    assert len(run.ok) == IN_FLIGHT, run.summary()
    assert run.ids() <= logged_ids(database_url)
    assert not (tmp_path / "spill.jsonl").exists() or (tmp_path / "spill.jsonl").stat().st_size == 0


async def test_sigterm_during_a_database_outage_spills_and_the_next_start_replays(
    upstream: FakeProvider, cluster: PgCluster, database_url: str, tmp_path: Path
) -> None:
    upstream.reset()
    spill = tmp_path / "spill.jsonl"
    config = resilience_config(upstream, database_url, spill, log_queue_size=10)
    with gateway(config, tmp_path / "first", ready_timeout=READY) as server:
        cluster.stop("fast")
        run = await terminate_under_load(server, upstream)
    assert not finished_or_errored(run), run.summary()
    assert len(spill.read_bytes().splitlines()) >= len(run.ids()), "records of finished requests were not spilled"

    cluster.start()
    with gateway(config, tmp_path / "second", ready_timeout=READY):
        found = wait_for_ids(database_url, run.ids(), timeout=30)
    assert run.ids() <= found, f"{len(run.ids() - found)} of {len(run.ids())} spilled records never replayed"
