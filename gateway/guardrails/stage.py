"""The pipeline stage "guardrails": after the prompt is rendered, before limits, the cache and the call.

* ``before``: takes the body's ``guardrails: [...]`` out (the upstream never sees it), picks the request's
  guardrails (``Engine.select``), and checks the request's text (pre_call): block raises a 400, redact and mask
  rewrite ``ctx.body``; masked originals stay in this request's memory (``Vault``).
* ``answer``: checks a whole answer (post_call) and gives masked values back. The cache stage comes after this
  one, so its ``answer`` runs first: the cache stores the answer with placeholders, never the values.
* ``stream_filter``: the same on streams, incrementally (``stream.GuardedStream``).

Findings go on ``ctx.guardrail_findings`` (the request record stores them, without values) and in the response
header ``x-gateway-guardrails: name:action,...``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import orjson

from gateway.errors import GuardrailUnavailable
from gateway.guardrails.detectors.base import Detector
from gateway.guardrails.detectors.injection import InjectionDetector
from gateway.guardrails.detectors.registry import build_detector
from gateway.guardrails.engine import Engine, Selection, check_answer, check_request
from gateway.guardrails.extract import ANSWER_TEXT, STREAM_TEXT
from gateway.guardrails.masking import Vault
from gateway.guardrails.policy import Guardrail, GuardrailSpec, Policy, load_policies
from gateway.guardrails.responses_stream import Repeats
from gateway.guardrails.stream import GuardedStream, window_for
from gateway.localmodels import LocalModels
from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import StageParts, StreamFilter
from gateway.tasks import cancel_and_wait

logger = logging.getLogger("gateway.guardrails")


@dataclass(slots=True)
class Guarded:
    """What ``before`` leaves for ``answer`` and ``stream_filter``."""

    selection: Selection
    vault: Vault


class GuardrailStage:
    name = "guardrails"

    def __init__(self, engine: Engine, warmup: asyncio.Task[None] | None = None) -> None:
        self.engine = engine
        self._warmup = warmup

    @classmethod
    async def start(cls, parts: StageParts) -> Self:
        """Load the policies (a ``ConfigError`` naming file and line stops the start); load the injection
        classifier in the background when a policy uses it, so the first request does not wait for it."""
        section = parts.config.gateway.guardrails

        def build(spec: GuardrailSpec) -> Detector:
            return build_detector(spec.type, spec.options, parts.models)

        policies = load_policies(section, build)
        warmup = None
        if any(_uses_classifier(p) for p in policies.values()):
            warmup = asyncio.create_task(_warm(parts.models), name="guardrails-warmup")
        if policies:
            logger.info("guardrails: %d policies loaded (%s)", len(policies), ", ".join(sorted(policies)))
        return cls(Engine(policies, section), warmup)

    async def before(self, ctx: RequestContext) -> bytes | None:
        if not self.engine.policies and "guardrails" not in ctx.body and not ctx.principal.guardrails:
            return None  # no policies loaded: one dict lookup per request
        requested = self.engine.requested(ctx.body)
        selection = self.engine.select(ctx, requested)
        if not selection:
            return None
        vault = Vault()
        if selection.input:
            if any(g.action in ("redact", "mask") for g in selection.input):
                ctx.body = orjson.loads(orjson.dumps(ctx.body))  # rewritten below: never the caller's objects
            await check_request(selection.input, ctx, vault)
        ctx.keep(self.name, Guarded(selection, vault))
        return None

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        guarded = self._guarded(ctx)
        if guarded is None or ctx.endpoint not in ANSWER_TEXT:
            return body
        if not (guarded.selection.output or guarded.vault.originals):
            return body
        parsed = orjson.loads(body)
        if not isinstance(parsed, dict):
            return body
        changed = await check_answer(guarded.selection.output, ctx, parsed, guarded.vault)
        return orjson.dumps(parsed) if changed else body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        guarded = self._guarded(ctx)
        if guarded is None or not (guarded.selection.output or guarded.vault.originals):
            return None
        pieces_of = STREAM_TEXT.get(ctx.endpoint)
        if pieces_of is None:  # fail closed: a stream whose text this stage cannot read is not let through
            raise GuardrailUnavailable(
                f"The output guardrails cannot read streams of this endpoint ({ctx.endpoint}); ask without `stream`."
            )
        output = guarded.selection.output
        window = window_for(output, guarded.vault, self.engine.section.stream_window)
        stream = GuardedStream(ctx, output, guarded.vault, pieces_of, window)
        if ctx.endpoint == "responses" and (guarded.vault.originals or _rewrites(output)):
            return Repeats(stream)  # the whole copies of the text must say what the rewritten deltas said
        return stream

    async def after(self, ctx: RequestContext) -> None:
        ctx.take(self.name)

    async def aclose(self) -> None:
        if self._warmup is not None:
            await cancel_and_wait(self._warmup)
        for policy in self.engine.policies.values():
            for guardrail in (*policy.input, *policy.output):
                close = getattr(guardrail.detector, "aclose", None)
                if callable(close):
                    await close()

    def _guarded(self, ctx: RequestContext) -> Guarded | None:
        guarded = ctx.take(self.name)
        if guarded is not None:
            ctx.keep(self.name, guarded)
        return guarded if isinstance(guarded, Guarded) else None


def _rewrites(guardrails: Sequence[Guardrail]) -> bool:
    """Whether these output guardrails can change a stream's text (all but block and warn redact there)."""
    return any(g.action not in ("block", "warn") for g in guardrails)


def _uses_classifier(policy: Policy) -> bool:
    return any(
        isinstance(g.detector, InjectionDetector) and g.detector.uses_classifier
        for g in (*policy.input, *policy.output)
    )


async def _warm(models: LocalModels) -> None:
    try:
        detector = InjectionDetector(models, classifier=True)
        await detector.classify(["warm up"])
    except Exception as exc:  # the detector fails (closed) on the request that needs it; say why now
        logger.warning("guardrails: the injection classifier could not load (%s)", type(exc).__name__)
