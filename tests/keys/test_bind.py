"""Without a master key the gateway stays on loopback, says so, and refuses a non-local bind unless --insecure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from support.keyed import keyed_config, write_config
from support.servers import FakeProvider, free_port, gateway


def test_non_local_bind_without_master_key_is_refused(fake: FakeProvider, tmp_path: Path) -> None:
    config = write_config(tmp_path / "open.yaml", keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}", master_key=None))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--host", "0.0.0.0", "--port",
         str(free_port())],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0 without general_settings.master_key" in result.stderr
    assert "--insecure" in result.stderr


def test_non_local_bind_with_insecure_serves_and_warns(fake: FakeProvider, tmp_path: Path) -> None:
    config = keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}", master_key=None)
    port = free_port()
    with gateway(config, tmp_path, args=("--host", "0.0.0.0", "--insecure"), port=port) as server:
        reply = httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions",
                           json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert reply.status_code == 200
        log = server.log()
    assert "listening on 0.0.0.0 with no master key (--insecure)" in log
    assert "no master key is set" in log
