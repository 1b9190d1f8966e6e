"""Helpers of the dashboard tests (tests/ui): the gateway with traffic they look at, and logging in."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest

from support.config import MASTER_KEY
from support.evals import GATEWAY, ROOT
from support.keyed import Admin
from support.servers import Gateway

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "ui" / "screenshots"
TEAM = "research"
KEY = "notebook"


@dataclass
class Dashboard:
    gw: Gateway
    admin: Admin
    key_id: str
    team_id: str
    sent: int

    @property
    def url(self) -> str:
        return self.gw.url + "/ui"

    def api(self, path: str, **params: Any) -> Any:
        response = self.admin.client.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


def release(admin: Admin) -> None:
    for body in ({"version": 1}, {"version": 2, "canary": 50}):
        response = admin.client.post("/admin/prompts/support-reply/release", json={**body, "force": True})
        assert response.status_code == 200, response.text


def send_traffic(server: Gateway, key: str) -> int:
    """Requests of every kind with ``key``; returns how many (one more goes with the master key)."""
    message = [{"role": "user", "content": "hello"}]
    variables = {"customer_name": "Ada", "question": "Where is my order?"}
    sent = 0
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:
        for _ in range(4):
            client.chat.completions.create(model="gpt-4o-mini", messages=message)  # type: ignore[arg-type]
        for _ in range(2):
            stream = client.chat.completions.create(model="gpt-4o-mini", messages=message, stream=True)  # type: ignore[arg-type]
            assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        client.chat.completions.create(model="always-503", messages=message)  # type: ignore[arg-type]
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model="always-400", messages=message)  # type: ignore[arg-type]
        for _ in range(6):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[],
                extra_body={"prompt_id": "support-reply@production", "prompt_variables": variables},
            )
        sent += 14
    with openai.OpenAI(base_url=server.v1, api_key=MASTER_KEY, max_retries=0) as client:
        client.chat.completions.create(model="gpt-4o-mini", messages=message)  # type: ignore[arg-type]
    return sent


def run_evals(server: Gateway, tmp: Path, database_url: str) -> None:
    """Two runs of the extract-json suite (``gateway eval run``): the second has the first as its baseline."""
    for _ in range(2):
        args = ["run", str(ROOT / "evals" / "extract-json.yaml"), "--gateway", server.url, "--api-key", MASTER_KEY,
                "--database-url", database_url, "--prompt-version", "1", "--no-cache"]
        done = subprocess.run([*GATEWAY, "eval", *args], cwd=tmp, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "GITHUB_STEP_SUMMARY": "", "NO_COLOR": "1"})
        assert done.returncode == 0, done.stdout + done.stderr


def wait_for_log(board: Dashboard) -> None:
    """Until the background writer has stored every request (the eval runs' own included)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        total = board.api("/admin/costs", group_by="key")["data"]
        if sum(row["requests"] for row in total if row["key"] == board.key_id) >= board.sent:
            time.sleep(0.5)
            return
        time.sleep(0.1)
    raise AssertionError("the request log never caught up")


def log_in(page: Any, board: Dashboard, key: str = MASTER_KEY) -> None:
    page.goto(board.url + "/overview")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
