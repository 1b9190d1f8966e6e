"""Every assertion type, and ``evaluate``: run one assertion (with its ``not-`` negation) on one output.

Deterministic types are plain functions; ``python`` and the model-assisted ones are coroutines. A ``not-``
assertion passes when the plain one fails, and scores ``1 - score``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from gateway.evals.assertions import model, python, structured, text
from gateway.evals.assertions.base import AssertContext, ModelServices, Output, Verdict
from gateway.evals.model import AssertionSpec

Check = Callable[[AssertionSpec, Output], Verdict]
AsyncCheck = Callable[[AssertionSpec, Output, AssertContext], Awaitable[Verdict]]

DETERMINISTIC: dict[str, Check] = {
    "equals": text.equals,
    "contains": text.contains,
    "icontains": text.icontains,
    "contains-any": text.contains_any,
    "contains-all": text.contains_all,
    "starts-with": text.starts_with,
    "regex": text.regex,
    "levenshtein": text.levenshtein,
    "is-json": structured.is_json,
    "contains-json": structured.contains_json,
    "json-schema": structured.json_schema,
    "is-valid-openai-tools-call": structured.is_valid_openai_tools_call,
    "finish-reason": structured.finish_reason,
    "latency": structured.latency,
    "cost": structured.cost,
}
ASYNC: dict[str, AsyncCheck] = {
    "python": python.python,
    "similar": model.similar,
    "llm-rubric": model.llm_rubric,
    "factuality": model.factuality,
}


@dataclass(frozen=True, slots=True)
class AssertionOutcome:
    """A verdict with what produced it, as reports and the database keep it."""

    type: str
    metric: str
    weight: float
    passed: bool
    score: float
    reason: str

    def as_dict(self) -> dict[str, object]:
        return {"type": self.type, "metric": self.metric, "weight": self.weight, "pass": self.passed,
                "score": round(self.score, 6), "reason": self.reason}


async def evaluate(spec: AssertionSpec, output: Output, ctx: AssertContext) -> AssertionOutcome:
    check = DETERMINISTIC.get(spec.type)
    verdict = check(spec, output) if check is not None else await ASYNC[spec.type](spec, output, ctx)
    if spec.negate:
        verdict = Verdict(not verdict.passed, 1.0 - verdict.score, f"not: {verdict.reason}")
    return AssertionOutcome(spec.label, spec.metric, spec.weight, verdict.passed, verdict.score, verdict.reason)


__all__ = ["AssertContext", "AssertionOutcome", "ModelServices", "Output", "Verdict", "evaluate"]
