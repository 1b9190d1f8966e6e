"""Model-assisted assertions: ``similar`` (embedding cosine), ``llm-rubric`` and ``factuality`` (a judge model).

The embedding provider is the assertion's ``provider``, else the suite's ``options.embedding``: ``local:minilm``
(all-MiniLM-L6-v2 on the CPU, no network) or any embedding model of the gateway's config. The judge is the
assertion's ``provider``, else the suite's ``options.judge``. Calls go through ``ModelServices`` (the runner's,
which sends them through the gateway and caches them). A failed call fails the assertion with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from gateway.evals.assertions.base import AssertContext, ModelServices, Output, Verdict
from gateway.evals.assertions.judge import (
    FACTUALITY_SCORES,
    NoVerdict,
    factuality_request,
    parse_factuality,
    parse_rubric,
    rubric_request,
)
from gateway.evals.assertions.text import show
from gateway.evals.model import AssertionSpec


class ModelCallFailed(Exception):
    """A judge or embedding call that failed after the runner's retries."""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


async def similar(spec: AssertionSpec, output: Output, ctx: AssertContext) -> Verdict:
    provider = spec.provider or ctx.options.embedding
    references = list(spec.value)
    try:
        vectors = await _services(ctx).embed(provider, [output.text, *references])
    except ModelCallFailed as exc:
        return Verdict.of(False, f"embedding with {provider} failed: {exc}")
    scores = [cosine(vectors[0], vector) for vector in vectors[1:]]
    best = max(range(len(scores)), key=scores.__getitem__)
    score = max(0.0, scores[best])
    limit = spec.threshold if spec.threshold is not None else 0.75
    ok = score >= limit
    return Verdict(ok, score, f"cosine similarity {score:.3f} {'>=' if ok else '<'} {limit} with "
                              f"{show(references[best], 50)} ({provider})")


async def llm_rubric(spec: AssertionSpec, output: Output, ctx: AssertContext) -> Verdict:
    judge = spec.provider or ctx.options.judge
    if judge is None:
        return Verdict.of(False, "no judge model: set `options.judge` in the suite or `provider` on the assertion")
    try:
        reply = await _services(ctx).judge(judge, rubric_request(judge, str(spec.value), output.text))
        verdict = parse_rubric(reply)
    except ModelCallFailed as exc:
        return Verdict.of(False, f"judge {judge} failed: {exc}")
    except NoVerdict as exc:
        return Verdict.of(False, f"judge {judge}: {exc}: {show(reply, 120)}")
    limit = spec.threshold if spec.threshold is not None else 0.5
    ok = verdict.score >= limit and verdict.passed is not False
    why = verdict.reason or "no reason given"
    return Verdict(ok, verdict.score, f"judge {judge}: score {verdict.score:.2f} (needs {limit}); {show(why, 160)}")


async def factuality(spec: AssertionSpec, output: Output, ctx: AssertContext) -> Verdict:
    judge = spec.provider or ctx.options.judge
    if judge is None:
        return Verdict.of(False, "no judge model: set `options.judge` in the suite or `provider` on the assertion")
    question = _question(ctx)
    try:
        reply = await _services(ctx).judge(judge, factuality_request(judge, question, str(spec.value), output.text))
        choice, reason = parse_factuality(reply)
    except ModelCallFailed as exc:
        return Verdict.of(False, f"judge {judge} failed: {exc}")
    except NoVerdict as exc:
        return Verdict.of(False, f"judge {judge}: {exc}: {show(reply, 120)}")
    score = FACTUALITY_SCORES[choice]
    limit = spec.threshold if spec.threshold is not None else 0.5
    ok = score >= limit
    return Verdict(ok, score, f"judge {judge} chose ({choice}); {show(reason or 'no reason given', 160)}")


def _question(ctx: AssertContext) -> str:
    """What was asked: the case's ``question`` var when it has one, else all its vars."""
    variables = ctx.case.vars
    if isinstance(variables.get("question"), str):
        return str(variables["question"])
    return "\n".join(f"{name}: {value}" for name, value in variables.items()) or "(no vars)"


def _services(ctx: AssertContext) -> ModelServices:
    if ctx.services is None:
        raise ModelCallFailed("model-assisted assertions need the runner's model services")
    return ctx.services
