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
import yaml

from support.caching import ask, wait_filed
from support.config import MASTER_KEY
from support.evals import GATEWAY, ROOT
from support.keyed import Admin
from support.servers import Gateway

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "ui" / "screenshots"
TEAM = "research"
KEY = "notebook"
#: A second key, of its own team, with the semantic cache and two guardrail policies on (tests/ui/conftest.py).
GUARDED_TEAM = "support"
GUARDED_KEY = "helpdesk"
GUARDED_REQUESTS = 5  # what send_guarded_traffic sends
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
EMAIL = "ada.lovelace@example.org"
POLICIES: dict[str, dict[str, Any]] = {
    "no-secrets": {"input": [{"type": "secrets", "name": "secret-block", "action": "block"}]},
    "pii": {"input": [{"type": "pii", "name": "email-mask", "action": "mask", "entities": ["email"]}]},
}


@dataclass
class Dashboard:
    gw: Gateway
    admin: Admin
    key_id: str
    team_id: str
    sent: int
    guarded_key_id: str = ""
    semantic_hits: int = 0

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


def guarded_sections(tmp: Path) -> dict[str, Any]:
    """The ``gateway:`` cache and guardrails settings of the dashboard's gateway, policies written under ``tmp``:
    both only for ``GUARDED_KEY``, so the other key's traffic (and the tests over it) stays as it was."""
    folder = tmp / "guardrails"
    folder.mkdir()
    for name, policy in POLICIES.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(policy))
    return {
        "cache": {"mode": "off", "lookup_timeout_ms": 5000, "keys": {GUARDED_KEY: {"mode": "semantic"}}},
        "guardrails": {"policies": ["guardrails/*.yaml"], "keys": {GUARDED_KEY: list(POLICIES)}},
    }


def send_guarded_traffic(server: Gateway, key: str) -> int:
    """Through the cache and the guardrails: a miss, an exact hit, a semantic hit, a block and a mask. Returns the
    semantic hits seen (the response header says which kind each hit was)."""
    statuses = []
    with openai.OpenAI(base_url=server.v1, api_key=key, max_retries=0) as client:
        ask(client, "How do I reset my password?")
        wait_filed(server, 1)
        for question in ("How do I reset my password?", "How can I reset my password?"):
            statuses.append(ask(client, question)[1]["x-gateway-cache"])
        with pytest.raises(openai.BadRequestError):
            ask(client, f"my key is {AWS_KEY}")
        ask(client, f"write to {EMAIL} please")
    assert statuses == ["hit", "semantic-hit"]
    return 1


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
        stored = {row["key"]: row["requests"] for row in total}
        if stored.get(board.key_id, 0) >= board.sent and stored.get(board.guarded_key_id, 0) >= GUARDED_REQUESTS:
            time.sleep(0.5)
            return
        time.sleep(0.1)
    raise AssertionError("the request log never caught up")


def log_in(page: Any, board: Dashboard, key: str = MASTER_KEY) -> None:
    page.goto(board.url + "/overview")
    page.fill("input[name=key]", key)
    page.click("button[type=submit]")
