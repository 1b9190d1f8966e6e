"""Helpers for the prompt tests: a prompt document, a retry-until-true, and the kit a prompt test works with.

Every test names its prompts with a unique suffix, so tests share one gateway without seeing each other's state.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import openai
import yaml
from typer.testing import CliRunner

from gateway.cli.prompts import prompts_app
from support.servers import Gateway

T = TypeVar("T")
#: The gateway re-reads the registry this often, for changes made by the CLI (no Redis in these tests).
REFRESH_SECONDS = "0.2"


def prompt_doc(name: str, **fields: Any) -> dict[str, Any]:
    """A support-reply-like prompt; ``fields`` replace or add top-level keys."""
    doc: dict[str, Any] = {
        "name": name,
        "description": "test prompt",
        "model": "gpt-4o-mini",
        "parameters": {"temperature": 0.2, "max_tokens": 300},
        "messages": [
            {"role": "system", "content": "You are a support agent. Answer {{ customer_name }} briefly."},
            {"role": "user", "content": "Customer {{ customer_name }} asks: {{ question }}"},
        ],
        "variables": {
            "type": "object",
            "properties": {"customer_name": {"type": "string"}, "question": {"type": "string"}},
            "required": ["customer_name", "question"],
        },
    }
    doc.update(fields)
    return {key: value for key, value in doc.items() if value is not None}


def eventually(check: Callable[[], T], timeout: float = 5.0) -> T:
    """``check()`` once it stops failing (the gateway picks CLI changes up on a timer, not at once)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except (AssertionError, openai.BadRequestError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@dataclass
class PromptKit:
    """What a prompt test needs: the gateway, an SDK client, the admin API, the CLI and a prompts folder."""

    gw: Gateway
    sdk: openai.OpenAI
    admin: httpx.Client
    folder: Path

    def database_url(self) -> str:
        return str(yaml.safe_load(self.gw.config_path.read_text())["general_settings"]["database_url"])

    def name(self, stem: str = "p") -> str:
        return f"{stem}-{uuid.uuid4().hex[:8]}"

    def write(self, doc: dict[str, Any]) -> Path:
        path = self.folder / f"{doc['name']}.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    def cli(self, *args: str, ok: bool = True, color: bool = False) -> Any:
        """Run ``gateway prompts ARGS`` in this process, against the gateway's database."""
        env = {"FORCE_COLOR": "1"} if color else {"NO_COLOR": "1"}  # rich colours a terminal, not a pipe
        result = CliRunner().invoke(prompts_app, [*args, "--config", str(self.gw.config_path)], env=env)
        if ok:
            assert result.exit_code == 0, f"{args} failed ({result.exit_code}): {result.output}{result.exception}"
        return result

    def push(self, *docs: dict[str, Any]) -> Any:
        for doc in docs:
            self.write(doc)
        return self.cli("push", str(self.folder), "--actor", "tester")

    def api_push(self, *docs: dict[str, Any]) -> list[dict[str, Any]]:
        response = self.admin.post("/admin/prompts", json={"prompts": list(docs), "actor": "tester"})
        assert response.status_code == 200, response.text
        return list(response.json()["data"])

    def api_release(self, name: str, version: int, **body: Any) -> dict[str, Any]:
        response = self.admin.post(f"/admin/prompts/{name}/release", json={"version": version, "force": True, **body})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def chat(self, prompt_id: str | None = None, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A chat call by reference; returns the raw response (headers and parsed body)."""
        extra: dict[str, Any] = dict(kwargs.pop("extra_body", {}))
        if prompt_id is not None:
            extra["prompt_id"] = prompt_id
        if variables is not None:
            extra["prompt_variables"] = variables
        kwargs.setdefault("model", "gpt-4o-mini")
        kwargs.setdefault("messages", [])
        return self.sdk.chat.completions.with_raw_response.create(extra_body=extra, **kwargs)

    def served(self, prompt_id: str, **kwargs: Any) -> str:
        """The ``x-gateway-prompt-version`` of a call with support-reply-like variables."""
        raw = self.chat(prompt_id, {"customer_name": "Ada", "question": "Where is my parcel?"}, **kwargs)
        return str(raw.headers["x-gateway-prompt-version"])
