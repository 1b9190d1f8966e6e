"""`gateway serve --workers 2` on a new database: migrated once, before the workers start; both serve."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from support.databases import BOTH
from support.keyed import MASTER_KEY, keyed_config
from support.servers import FakeProvider, Gateway, gateway

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_two_workers_on_a_new_database_start_and_serve(fake: FakeProvider, database_url: str,
                                                        tmp_path: Path) -> None:
    config = keyed_config(fake, database_url)
    with gateway(config, tmp_path, args=("--workers", "2"), ready_timeout=60) as server:
        with httpx.Client(headers={"authorization": f"Bearer {MASTER_KEY}"}, timeout=10) as client:
            # New connections spread over both workers; every one must be served.
            replies = [client.post(server.v1 + "/chat/completions", json=CHAT, headers={"connection": "close"})
                       for _ in range(12)]
        log = _log_once_both_started(server)
    assert [reply.status_code for reply in replies] == [200] * 12
    assert "already exists" not in log
    assert "Traceback" not in log
    assert log.count("Application startup complete") == 2  # both workers came up


def _log_once_both_started(server: Gateway, timeout: float = 90.0) -> str:
    """The first worker can be serving while the second is still importing on a loaded machine."""
    deadline = time.monotonic() + timeout
    while (log := server.log()).count("Application startup complete") < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    return log
