"""Helpers of the end-to-end eval tests: a stub judge whose verdict each test chooses, and the kit a test drives
the gateway and ``gateway eval`` with.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml
from aiohttp import web
from typer.testing import CliRunner, Result

from gateway.cli.evals import eval_app
from gateway.cli.prompts import prompts_app
from support.config import MASTER_KEY
from support.servers import FakeProvider, Gateway

ROOT = Path(__file__).resolve().parents[2]
GATEWAY = [sys.executable, "-m", "gateway"]


class StubJudge:
    """An OpenAI-compatible upstream that answers every chat call with ``reply`` (set by the test)."""

    def __init__(self) -> None:
        self.reply = '{"reason": "unset", "score": 0, "pass": false}'
        self.requests: list[dict[str, Any]] = []
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        answer = {
            "id": "chatcmpl-stub", "object": "chat.completion", "created": 0, "model": body.get("model"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": self.reply}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }
        return web.Response(body=orjson.dumps(answer), content_type="application/json")

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@dataclass
class EvalKit:
    gw: Gateway
    fake: FakeProvider
    judge: StubJudge
    workdir: Path
    config_path: Path
    database_url: str

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``gateway eval ARGS`` as a subprocess in the work folder (where the run cache lives)."""
        return subprocess.run([*GATEWAY, "eval", *args], cwd=self.workdir, capture_output=True, text=True,
                              timeout=timeout, env=_env())

    def invoke(self, app: Any, *args: str) -> Result:
        """A CLI command in this process (no interpreter start-up); ``output`` has stdout and stderr."""
        return CliRunner().invoke(app, list(args), env={"GITHUB_STEP_SUMMARY": "", "NO_COLOR": "1"})

    def remote_args(self, suite: Path | str, *args: str) -> list[str]:
        return ["run", str(suite), "--gateway", self.gw.url, "--api-key", MASTER_KEY,
                "--database-url", self.database_url, "--cache-dir", str(self.workdir / ".eval-cache"), *args]

    def run_remote(self, suite: Path | str, *args: str) -> subprocess.CompletedProcess[str]:
        """``gateway eval run`` as a subprocess against the running gateway."""
        return self.cli(*self.remote_args(suite, *args))

    def run_here(self, suite: Path | str, *args: str) -> Result:
        """The same, in this process."""
        return self.invoke(eval_app, *self.remote_args(suite, *args))

    def suite(self, name: str, doc: dict[str, Any]) -> Path:
        path = self.workdir / "evals" / f"{name}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GATEWAY_URL", "GATEWAY_API_KEY", "DATABASE_URL",
                                                              "GITHUB_STEP_SUMMARY")}
    return {**env, "COLUMNS": "200", "NO_COLOR": "1"}


def eval_model(name: str, api_base: str) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": f"openai/{name}", "api_base": api_base, "api_key": "f"}}


def push(folder: Path, config: Path) -> None:
    done = CliRunner().invoke(prompts_app, ["push", str(folder), "--config", str(config), "--actor", "tests"])
    assert done.exit_code == 0, done.output


def broken_prompts(tmp: Path) -> Path:
    """A copy of prompts/ whose support-reply no longer names the customer in the user message."""
    folder = tmp / "broken-prompts"
    shutil.copytree(ROOT / "prompts", folder)
    path = folder / "support-reply.yaml"
    text = path.read_text()
    good = 'content: "Customer {{ customer_name }} asks: {{ question }}"'
    assert good in text
    path.write_text(text.replace(good, 'content: "A customer asks: {{ question }}"'))
    return folder
