"""Without a master key the gateway stays on loopback, says so, and refuses a non-local bind unless --insecure."""

from __future__ import annotations

import os
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


def _serve_once(config: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port", str(free_port()), *args],
        capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})},
    )


def test_an_empty_master_key_from_the_environment_stops_the_start(fake: FakeProvider, tmp_path: Path) -> None:
    """`GATEWAY_MASTER_KEY= gateway serve --host 0.0.0.0` used to pass the bind check with authentication off."""
    config = keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}", master_key="os.environ/GATEWAY_MASTER_KEY")
    path = write_config(tmp_path / "empty.yaml", config)
    result = _serve_once(path, "--host", "0.0.0.0", env={"GATEWAY_MASTER_KEY": ""})
    assert result.returncode == 2, result.stderr
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if text.strip().startswith("master_key:"))
    assert f"{path}:{line}: general_settings.master_key" in result.stderr
    assert "at least 12 characters (got an empty value" in result.stderr


def test_a_short_master_key_in_the_file_stops_the_start(fake: FakeProvider, tmp_path: Path) -> None:
    path = write_config(tmp_path / "short.yaml", keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}",
                                                              master_key="sk-short"))
    result = _serve_once(path)
    assert result.returncode == 2
    assert "general_settings.master_key" in result.stderr and "got 8 characters" in result.stderr
    assert "sk-short" not in result.stderr  # the secret itself is never printed


def test_without_a_master_key_a_virtual_key_cannot_reach_the_admin_api(fake: FakeProvider, tmp_path: Path) -> None:
    config = keyed_config(fake, f"sqlite:///{tmp_path / 'g.db'}", master_key=None)
    with gateway(config, tmp_path) as server:
        minted = httpx.post(server.url + "/admin/keys", json={"name": "local"})  # keyless local use: allowed
        assert minted.status_code == 201, minted.text
        virtual = {"authorization": f"Bearer {minted.json()['key']}"}
        refused = httpx.post(server.url + "/admin/keys", json={"name": "escalated"}, headers=virtual)
        assert refused.status_code == 403
        assert refused.json()["error"]["type"] == "permission_error"
        assert httpx.get(server.url + "/admin/openapi.json", headers=virtual).status_code == 403
        chat = httpx.post(server.v1 + "/chat/completions", headers=virtual,
                          json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
        assert chat.status_code == 200  # the key still serves traffic
