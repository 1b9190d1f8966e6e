"""Real servers for the tests: the fake provider and the gateway, each a process on its own loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

GATEWAY = [sys.executable, "-m", "gateway"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FakeProvider:
    """A running ``gateway fake-provider`` and its control API."""

    url: str
    process: subprocess.Popen[str]

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def add_fault(self, **fault: Any) -> str:
        response = httpx.post(self.url + "/_fake/faults", json=fault)
        response.raise_for_status()
        return str(response.json()["id"])

    def script_usage(self, model: str, usage: dict[str, Any]) -> None:
        """Every reply for ``model`` reports ``usage`` (the provider's own shape) until ``clear_usage``."""
        httpx.post(self.url + "/_fake/usage", json={"model": model, "usage": usage}).raise_for_status()

    def clear_usage(self) -> None:
        httpx.delete(self.url + "/_fake/usage").raise_for_status()

    def reset(self) -> None:
        httpx.delete(self.url + "/_fake/faults").raise_for_status()
        httpx.delete(self.url + "/_fake/stats").raise_for_status()

    def stats(self) -> dict[str, Any]:
        data: dict[str, Any] = httpx.get(self.url + "/_fake/stats").json()
        return data

    def count(self, model: str, path: str = "/v1/chat/completions") -> int:
        return int(self.stats()["requests"].get(f"{path} {model}", 0))


@contextmanager
def fake_provider(latency_ms: int = 0, log_dir: Path | None = None) -> Iterator[FakeProvider]:
    """Start the fake provider; its output goes to a file (a pipe nobody drains would block it)."""
    log_path = Path(tempfile.mkdtemp() if log_dir is None else log_dir) / "fake-provider.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*GATEWAY, "fake-provider", "--port", "0", "--latency-ms", str(latency_ms)],
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        deadline = time.monotonic() + 30
        match = None
        while match is None and time.monotonic() < deadline and process.poll() is None:
            match = re.search(r"listening on (http://\S+)", log_path.read_text())
            time.sleep(0.02)
        if match is None:
            raise RuntimeError(f"fake provider did not start: {log_path.read_text()}")
        yield FakeProvider(match.group(1), process)
    finally:
        _stop(process)


@dataclass
class Gateway:
    """A running ``gateway serve``; ``log`` is its combined output so far."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    config_path: Path

    @property
    def v1(self) -> str:
        return self.url + "/v1"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def gateway(
    config: Mapping[str, Any] | str,
    workdir: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: tuple[str, ...] = (),
    port: int | None = None,
    ready_timeout: float = 120.0,  # generous: litellm alone can take 25 s to import on a loaded 2-core machine
) -> Iterator[Gateway]:
    """Write ``config`` to a file in ``workdir``, start the gateway on it, and wait until it answers."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    config_path = workdir / f"gateway-{port}.yaml"
    config_path.write_text(config if isinstance(config, str) else yaml.safe_dump(dict(config), sort_keys=False))
    log_path = workdir / f"gateway-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*GATEWAY, "serve", "--config", str(config_path), "--port", str(port), *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            env={**os.environ, **(env or {})},
        )
    server = Gateway(f"http://127.0.0.1:{port}", process, log_path, config_path)
    try:
        _wait_ready(server, ready_timeout)
        yield server
    finally:
        _stop(process)


def _wait_ready(server: Gateway, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"gateway exited with {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"gateway not ready after {timeout}s:\n{server.log()}")


def _stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for stream in (process.stdout, process.stderr):
        if stream is not None:
            stream.close()
