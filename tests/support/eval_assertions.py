"""Building assertion specs and outputs for unit tests, and a ModelServices whose replies the test controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.evals.assertions import AssertContext, AssertionOutcome, Output, evaluate
from gateway.evals.model import Case, SuiteOptions
from gateway.evals.specs import Templates, parse_assertion


def spec(raw: dict[str, Any], variables: dict[str, Any] | None = None, base: Path = Path(".")):  # type: ignore[no-untyped-def]
    return parse_assertion(raw, "test.yaml: case 't': assert[0]", variables or {}, base, Templates())


class ScriptedServices:
    """Judge replies and embeddings chosen by the test; records what it was asked."""

    def __init__(self, judge_reply: str = "", vectors: dict[str, list[float]] | None = None) -> None:
        self.judge_reply = judge_reply
        self.vectors = vectors or {}
        self.judge_calls: list[tuple[str, dict[str, Any]]] = []
        self.embed_calls: list[tuple[str, list[str]]] = []

    async def judge(self, model: str, body: dict[str, Any]) -> str:
        self.judge_calls.append((model, body))
        return self.judge_reply

    async def embed(self, provider: str, texts: list[str]) -> list[list[float]]:
        self.embed_calls.append((provider, texts))
        return [self.vectors[t] for t in texts]


async def check(
    raw: dict[str, Any],
    output: Output | str,
    *,
    variables: dict[str, Any] | None = None,
    services: Any = None,
    options: SuiteOptions | None = None,
    base: Path = Path("."),
) -> AssertionOutcome:
    if isinstance(output, str):
        output = Output(text=output)
    case = Case("t", None, variables or {}, ())
    ctx = AssertContext(case, options or SuiteOptions(), services)
    return await evaluate(spec(raw, variables, base), output, ctx)
