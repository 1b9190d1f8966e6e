"""`make run` (scripts/run_demo.py) as a newcomer runs it: the embedded default, on ports they choose, quietly.

The script is started as `make run` starts it, with no provider key, in an empty directory (its SQLite file goes
there), and stopped with Ctrl-C (SIGINT to its process group: the script, the gateway and the fake provider).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


def demo_chat_models() -> list[str]:
    config = yaml.safe_load((ROOT / "config" / "demo.yaml").read_text())
    return [entry["model_name"] for entry in config["model_list"] if "embedding" not in entry["model_name"]]


@dataclass
class Demo:
    url: str
    fake_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    workdir = tmp_path_factory.mktemp("make-run")
    port, fake_port = free_port(), free_port()
    env = {name: value for name, value in os.environ.items() if name not in {"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}}
    env.update(PORT=str(port), FAKE_PORT=str(fake_port))
    running = Demo(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{fake_port}", workdir / "make-run.log")
    with running.log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "run_demo.py")],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(running, process)
        yield running
    finally:
        _interrupt(process)


def _wait_ready(demo: Demo, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(demo.url + "/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"make run did not start:\n{demo.log()}")


def _interrupt(process: subprocess.Popen[bytes]) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


def test_make_run_answers_the_openai_sdk_through_the_fake_provider_on_fake_port(demo: Demo) -> None:
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key="sk-anything-locally", max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    assert reply.choices[0].message.content == "Echo: hello"
    stats = httpx.get(demo.fake_url + "/_fake/stats", timeout=5).json()
    assert stats["requests"].get("/v1/chat/completions gpt-4o-mini", 0) >= 1


@pytest.mark.parametrize("model", demo_chat_models())
def test_every_demo_chat_model_is_priced(demo: Demo, model: str) -> None:
    client = openai.OpenAI(base_url=demo.url + "/v1", api_key="sk-anything-locally", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert float(raw.headers["x-gateway-cost-usd"]) > 0


def test_make_run_does_not_narrate_alembic_plugins(demo: Demo) -> None:
    log = demo.log()
    assert "gateway ready" in log
    assert "alembic" not in log
