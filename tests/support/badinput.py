"""Bad input against the running gateway: its config (fast-path models, one litellm deployment on a fake provider),
and the judge every answer goes through.

The rule checked: no input makes the gateway answer 5xx, and every error is in the right shape: OpenAI's
``{"error": {"message", "type", "param", "code"}}``, or Anthropic's ``{"type": "error", "error": {"type",
"message"}}`` on ``/v1/messages``; and no error carries a Python traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from support.servers import FakeProvider

MASTER_KEY = "sk-test-master"
MODELS = ["gpt-4o-mini", "embed", "claude"]


def badinput_config(upstream: FakeProvider, tmp: Path) -> dict[str, Any]:
    def model(name: str, upstream_model: str, base: str | None = None) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": upstream_model, "api_base": base or upstream.v1,
                                                       "api_key": "fake"}}

    return {
        "model_list": [
            model("gpt-4o-mini", "openai/gpt-4o-mini"),
            model("embed", "openai/text-embedding-3-small"),
            model("claude", "anthropic/claude-3-5-sonnet-20241022", upstream.url),
        ],
        "router_settings": {"num_retries": 0},
        "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
        "gateway": {"log_spill_path": str(tmp / "spill.jsonl")},
    }


def judge(status: int, content: bytes, *, anthropic: bool = False) -> str | None:
    """What is wrong with one answer, or None when it is acceptable."""
    # A 504 the client asked for (its own x-gateway-timeout ran out) is the documented answer, not a fault.
    asked_for = status == 504 and b"x-gateway-timeout" in content
    if status >= 500 and not asked_for:
        return f"{status}: {content[:300]!r}"
    if b"Traceback (most recent call last)" in content:
        return f"{status} carries a traceback: {content[:300]!r}"
    if status < 400:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return f"{status} is not JSON: {content[:200]!r}"
    return _anthropic_shape(status, body) if anthropic else _openai_shape(status, body)


def _openai_shape(status: int, body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not {"message", "type", "param", "code"} <= error.keys():
        return f"{status} is not an OpenAI error object: {str(body)[:300]}"
    if not isinstance(error["message"], str) or not isinstance(error["type"], str):
        return f"{status} error message/type are not strings: {str(body)[:300]}"
    return None


def _anthropic_shape(status: int, body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    if body.get("type") != "error" or not isinstance(error, dict):
        return f"{status} is not an Anthropic error: {str(body)[:300]}"
    if not isinstance(error.get("type"), str) or not isinstance(error.get("message"), str):
        return f"{status} Anthropic error type/message are not strings: {str(body)[:300]}"
    return None


class Findings:
    """Distinct problems found (one example each), so one run reports all of them, not just the first."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}
        self.cases = 0

    def add(self, where: str, problem: str | None, example: str) -> None:
        self.cases += 1
        if problem is not None:
            self.seen.setdefault(f"{where}: {problem[:120]}", example[:400])

    def report(self) -> str:
        return f"{len(self.seen)} problem(s) in {self.cases} cases:\n" + "\n".join(
            f"- {problem}\n    example: {example}" for problem, example in list(self.seen.items())[:15]
        )
