"""What every assertion sees and returns.

An assertion gets the ``Output`` of one call (text, parsed response, finish reason, tool calls, latency, cost)
and returns a ``Verdict``: pass/fail, a score from 0 to 1, and a reason a person can read. Model-assisted
assertions also get ``ModelServices`` to call a judge or an embedding model (through the gateway, or locally).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import orjson

from gateway.evals.model import Case, SuiteOptions


@dataclass(frozen=True, slots=True)
class Verdict:
    passed: bool
    score: float
    reason: str

    @staticmethod
    def of(passed: bool, reason: str) -> Verdict:
        return Verdict(passed, 1.0 if passed else 0.0, reason)


@dataclass(slots=True)
class Output:
    """One model answer, as the assertions see it."""

    text: str
    response: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    latency_ms: float = 0.0
    cost_usd: float | None = None
    request: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(
        cls, response: dict[str, Any], *, latency_ms: float, cost_usd: float | None, request: dict[str, Any]
    ) -> Output:
        choices = response.get("choices") or [{}]
        choice = choices[0] if isinstance(choices[0], dict) else {}
        message = choice.get("message") or {}
        tool_calls = message.get("tool_calls") or []
        content = message.get("content")
        if not isinstance(content, str):
            # A tool-call answer has no text; its calls, as JSON, stand in for it (as in promptfoo).
            content = orjson.dumps(tool_calls).decode() if tool_calls else ""
        return cls(
            text=content,
            response=response,
            finish_reason=choice.get("finish_reason"),
            tool_calls=[c for c in tool_calls if isinstance(c, dict)],
            latency_ms=latency_ms,
            cost_usd=cost_usd,
            request=request,
        )


class ModelServices(Protocol):
    """Calls that model-assisted assertions make; the runner provides them (cached, through the gateway)."""

    async def judge(self, model: str, body: dict[str, Any]) -> str: ...

    async def embed(self, provider: str, texts: list[str]) -> list[list[float]]: ...


@dataclass(slots=True)
class AssertContext:
    case: Case
    options: SuiteOptions
    services: ModelServices | None = None
    #: Python assertion files loaded once per run (path -> module).
    modules: dict[Path, ModuleType] = field(default_factory=dict)
