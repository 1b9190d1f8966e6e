"""The request log loses nothing: through a database outage, a full queue, a shutdown and a restart.

Each test runs the real gateway (``gateway serve``) against the fake provider and a throwaway PostgreSQL database
reached through a TCP proxy the test can cut, and counts the rows with its own connection to PostgreSQL.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any

import openai
import psycopg
import pytest
from support.servers import FakeProvider, Gateway, gateway

from ledger.tcp_proxy import TcpProxy

pytestmark = pytest.mark.postgres
MASTER = "sk-test-master"


def ledger_config(fake: FakeProvider, database_url: str, spill: Path, **log: Any) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": fake.v1, "api_key": "fake"},
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "gateway": {"log_spill_path": str(spill), "log_flush_interval": 0.05, **log},
    }




def via(proxy: TcpProxy, url: str) -> str:
    return url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")


def send(server: Gateway, count: int, tag: str) -> list[str]:
    """``count`` chat requests; returns their request ids (from the ``x-gateway-request-id`` header)."""
    ids = []
    with openai.OpenAI(base_url=server.v1, api_key=MASTER, max_retries=0) as client:
        for index in range(count):
            raw = client.chat.completions.with_raw_response.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"{tag} {index}"}]
            )
            ids.append(raw.headers["x-gateway-request-id"])
    return ids


def logged(url: str) -> tuple[set[str], int]:
    """The request ids in the log, and the roll-ups' request count: they must agree (nothing counted twice)."""
    query = "SELECT array(SELECT request_id FROM request_logs), (SELECT coalesce(sum(requests), 0) FROM daily_rollups)"
    with psycopg.connect(url) as connection:  # one statement: one snapshot
        found = connection.execute(query).fetchone()
    assert found is not None
    return set(found[0]), int(found[1])


def wait_for_rows(url: str, expected: int, timeout: float = 15.0) -> tuple[set[str], int]:
    deadline = time.monotonic() + timeout
    ids, rolled = logged(url)
    while len(ids) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        ids, rolled = logged(url)
    return ids, rolled


def test_requests_during_a_database_outage_are_all_logged_once_it_returns(
    fake: FakeProvider, pg: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    # A queue of 5: most of the outage's records must go through the spill file, not only memory.
    config = ledger_config(fake, via(proxy, pg), spill, log_queue_size=5)
    with gateway(config, tmp_path) as server:
        before = send(server, 3, "before")
        assert wait_for_rows(pg, 3)[0] == set(before)

        proxy.stop()
        during = send(server, 20, "during")  # answered normally: the log is not on the request path
        time.sleep(0.5)
        assert logged(pg)[0] == set(before)
        assert spill.exists() and spill.stat().st_size > 0

        proxy.start()
        ids, rolled = wait_for_rows(pg, 23)
        time.sleep(0.5)  # a late duplicate would show up now
        ids, rolled = logged(pg)
        log = server.log()

    assert ids == set(before) | set(during)
    assert rolled == 23
    assert "unreachable" in log and "is back" in log
    assert spill.stat().st_size == 0  # replayed, then emptied


def test_a_restart_replays_what_was_spilled_while_the_database_was_down(
    fake: FakeProvider, pg: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    config = ledger_config(fake, via(proxy, pg), spill, log_queue_size=4)
    with gateway(config, tmp_path / "first") as server:
        proxy.stop()
        spilled = send(server, 12, "spilled")
    # The gateway has stopped with the database still down: everything is in the spill file.
    assert len(spill.read_bytes().splitlines()) == 12
    assert logged(pg)[0] == set()

    proxy.start()
    with gateway(config, tmp_path / "second"):
        ids, rolled = wait_for_rows(pg, 12)
    assert ids == set(spilled)
    assert rolled == 12
    assert spill.stat().st_size == 0


def test_the_queue_drains_when_the_gateway_is_stopped(fake: FakeProvider, pg: str, tmp_path: Path) -> None:
    # Nothing would be written for a minute on its own: only the shutdown drain can have written the rows.
    config = ledger_config(
        fake, pg, tmp_path / "spill.jsonl", log_flush_interval=60, log_batch_size=10_000
    )
    with gateway(config, tmp_path) as server:
        sent = send(server, 30, "drain")
        assert logged(pg)[0] == set()
        server.process.send_signal(signal.SIGINT)
        assert server.process.wait(timeout=20) == 0
    ids, rolled = logged(pg)
    assert ids == set(sent)
    assert rolled == 30
    assert not (tmp_path / "spill.jsonl").exists()  # drained into the database, not spilled
