"""`gateway serve` tunes its process's garbage collector once start-up is complete; an app run in process leaves
the caller's collector alone (see tests/http/test_in_process.py)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from support.keyed import keyed_config
from support.servers import FakeProvider, Gateway, gateway

from gateway import server as served
from gateway.server import SERVED_GC_THRESHOLD

TUNED = re.compile(r"gc tuned for serving: (\d+) objects frozen, threshold (\(\d+, \d+, \d+\))")


def test_a_served_process_freezes_its_start_up_objects_and_raises_the_gc_threshold(
    fake: FakeProvider, tmp_path: Path
) -> None:
    config = keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}")
    with gateway(config, tmp_path, args=("--log-level", "debug")) as server:
        tuned = _tuned_lines(server)
    assert len(tuned) == 1  # once, after start-up: not per request
    frozen, threshold = tuned[0]
    assert int(frozen) > 0
    assert threshold == str(SERVED_GC_THRESHOLD)


def test_each_worker_process_is_tuned_too(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``--workers N`` processes build their app with ``app_factory`` (their log lines are not configured)."""
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(served, "create_app", lambda config, **options: calls.append(options))
    path = tmp_path / "gateway.yaml"
    path.write_text("model_list: []\n")
    monkeypatch.setenv(served.CONFIG_ENV, str(path))
    served.app_factory()
    assert calls == [{"on_started": served.tune_gc}]


def _tuned_lines(server: Gateway, timeout: float = 30.0) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while not (found := TUNED.findall(server.log())) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found
