"""SIGTERM with a stream still open after the grace period: the stream ends with an error event and [DONE], not
a cut, and the request is recorded."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.keyed import MASTER_KEY, keyed_config
from support.servers import GATEWAY, FakeProvider, gateway

GRACE = 1.0


@pytest.fixture
def slow_fake(tmp_path: Path) -> Iterator[FakeProvider]:
    """A fake provider that waits 400 ms between stream chunks: a 200-word answer takes over a minute."""
    log_path = tmp_path / "slow-fake.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([*GATEWAY, "fake-provider", "--port", "0", "--chunk-delay-ms", "400"],
                                   stdout=log, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (match := re.search(r"listening on (http://\S+)", log_path.read_text())):
            assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()
            time.sleep(0.05)
        yield FakeProvider(match.group(1), process)
    finally:
        process.kill()
        process.wait(timeout=10)


def _events(lines: list[str]) -> list[str]:
    return [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]


def test_a_stream_open_after_the_grace_period_ends_with_an_error_event(slow_fake: FakeProvider,
                                                                        tmp_path: Path) -> None:
    config = keyed_config(slow_fake, f"sqlite:///{tmp_path / 'g.db'}", shutdown_grace_seconds=GRACE)
    body = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 200,
            "messages": [{"role": "user", "content": "tell me a long story " * 20}]}
    with gateway(config, tmp_path) as server:
        lines: list[str] = []
        with httpx.stream("POST", server.v1 + "/chat/completions", json=body, timeout=30,
                          headers={"authorization": f"Bearer {MASTER_KEY}"}) as reply:
            assert reply.status_code == 200
            started = time.monotonic()
            for line in reply.iter_lines():
                lines.append(line)
                if len(_events(lines)) == 2:
                    server.process.send_signal(signal.SIGTERM)
        elapsed = time.monotonic() - started
        server.process.wait(timeout=30)
    events = _events(lines)
    assert events[-1] == "[DONE]", events[-3:]
    error = json.loads(events[-2])["error"]
    assert error["code"] == "server_shutting_down" and error["type"] == "service_unavailable"
    assert GRACE <= elapsed < 20  # ended after the grace period, long before the answer would have
    with sqlite3.connect(tmp_path / "g.db") as db:
        assert db.execute("SELECT count(*) FROM request_logs").fetchone()[0] == 1


def test_an_anthropic_stream_open_after_the_grace_period_ends_with_an_error_event(slow_fake: FakeProvider,
                                                                                   tmp_path: Path) -> None:
    config = keyed_config(slow_fake, f"sqlite:///{tmp_path / 'g.db'}", shutdown_grace_seconds=GRACE)
    body = {"model": "gpt-4o-mini", "stream": True, "max_tokens": 200,
            "messages": [{"role": "user", "content": "tell me a long story " * 20}]}
    with gateway(config, tmp_path) as server:
        lines: list[str] = []
        with httpx.stream("POST", server.v1 + "/messages", json=body, timeout=30,
                          headers={"x-api-key": MASTER_KEY}) as reply:
            assert reply.status_code == 200
            for line in reply.iter_lines():
                lines.append(line)
                if sum(line.startswith("event: content_block_delta") for line in lines) == 2:
                    server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
    assert "event: error" in lines
    error = json.loads(_events(lines)[-1])
    assert error["type"] == "error" and "shutting down" in error["error"]["message"]
