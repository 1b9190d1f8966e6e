"""The guardrail engine: which guardrails a request gets, running one under its deadline, and checking the text
of a request (pre_call) or of a whole answer (post_call). Streams are checked by ``stream.GuardedStream`` with the
same pieces.

Fail closed: a detector that raises or overruns its deadline blocks the request with a 503
(``guardrail_unavailable``), unless its guardrail says ``fail_open: true``; then the request goes on, a warning is
logged and the record carries a ``fail_open`` finding. Only the exception's type is logged: its message could
quote the text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from gateway.config.guardrails import GuardrailsSection
from gateway.errors import GuardrailUnavailable, GuardrailViolation, RequestError
from gateway.guardrails.detectors.base import Detector, Match, SyncDetector
from gateway.guardrails.extract import ANSWER_TEXT, REQUEST_TEXT, Slot
from gateway.guardrails.masking import Edit, Vault, apply_edits, redaction, without_overlaps
from gateway.guardrails.policy import Guardrail, Policy
from gateway.pipeline.context import GuardrailFinding, RequestContext

logger = logging.getLogger("gateway.guardrails")
HEADER = "x-gateway-guardrails"
SELECTIONS_KEPT = 4096  # distinct (key, team, model, prompt, request) combinations remembered; then forgotten
STAGE_WORDS = {"pre_call": "request", "post_call": "answer", "during_stream": "streamed answer"}


@dataclass(frozen=True, slots=True)
class Selection:
    """The guardrails one request gets, in policy order, each once."""

    input: tuple[Guardrail, ...]
    output: tuple[Guardrail, ...]

    def __bool__(self) -> bool:
        return bool(self.input or self.output)


class Recorder:
    """Notes findings on the request's context (once per guardrail, action and entity) and keeps the response
    header in step."""

    def __init__(self, ctx: RequestContext, stage: str) -> None:
        self.ctx = ctx
        self.stage = stage

    def add(self, guardrail: Guardrail, action: str, entity: str) -> None:
        finding = GuardrailFinding(guardrail.name, guardrail.policy, self.stage, action, entity)
        found = self.ctx.guardrail_findings
        if found is None:
            found = self.ctx.guardrail_findings = []
        if finding in found:
            return
        found.append(finding)
        logger.info(
            "guardrail %s (policy %s) %s: %s %s",
            guardrail.name,
            guardrail.policy,
            self.stage,
            action,
            entity,
            extra={"request_id": self.ctx.request_id},
        )
        pairs = dict.fromkeys(f"{f.guardrail}:{f.action}" for f in found)
        self.ctx.response_headers[HEADER] = ",".join(pairs)

    def block(self, guardrail: Guardrail, entities: Sequence[str]) -> GuardrailViolation:
        for entity in entities:
            self.add(guardrail, "block", entity)
        return GuardrailViolation(
            f"Blocked by guardrail `{guardrail.name}` (policy `{guardrail.policy}`) in the "
            f"{STAGE_WORDS.get(self.stage, self.stage)}: found {', '.join(sorted(set(entities)))}.",
            param="guardrails",
        )


class Attachments:
    """One of the section's maps (key, team, model or prompt -> policy names): exact names, and glob patterns
    (``support-*``) tried in their order, so keys created later at run time get a policy by their name."""

    def __init__(self, mapping: Mapping[str, Sequence[str]]) -> None:
        self._exact = {name: list(policies) for name, policies in mapping.items() if not _is_glob(name)}
        self._globs = [(name, list(policies)) for name, policies in mapping.items() if _is_glob(name)]

    def policies(self, *names: str | None) -> list[str]:
        found: list[str] = []
        for name in names:
            if name is None:
                continue
            found += self._exact.get(name, ())
            found += [p for pattern, policies in self._globs if fnmatchcase(name, pattern) for p in policies]
        return found


def _is_glob(name: str) -> bool:
    return any(c in name for c in "*?[")


class Engine:
    def __init__(self, policies: Mapping[str, Policy], section: GuardrailsSection) -> None:
        self.policies = dict(policies)
        self.section = section
        self._keys = Attachments(section.keys)
        self._teams = Attachments(section.teams)
        self._models = Attachments(section.models)
        self._prompts = Attachments(section.prompts)
        #: Selections made, by everything they depend on: the policies and maps never change once loaded.
        self._selected: dict[tuple[object, ...], Selection] = {}

    def select(self, ctx: RequestContext, requested: Sequence[str]) -> Selection:
        """The union of the default policies, the key's, the team's, the model's, the prompt's, and those the
        request asked for (which can only add)."""
        who = ctx.principal
        key: tuple[object, ...] = (who.guardrails, who.key_name, who.key_id, who.team_name, who.team_id)
        key += (ctx.model, ctx.prompt_name, *requested)
        selection = self._selected.get(key)
        if selection is None:
            selection = self._select(ctx, requested)
            if len(self._selected) >= SELECTIONS_KEPT:
                self._selected.clear()
            self._selected[key] = selection
        return selection

    def _select(self, ctx: RequestContext, requested: Sequence[str]) -> Selection:
        who = ctx.principal
        missing = [name for name in who.guardrails if name not in self.policies]
        if missing:  # fail closed: a key must not lose a policy because this gateway's config lacks it
            raise GuardrailUnavailable(
                f"Guardrail policy `{missing[0]}`, attached to this key or its team, is not loaded by this gateway."
            )
        names = [
            *self.section.default,
            *who.guardrails,
            *self._keys.policies(who.key_name, who.key_id),
            *self._teams.policies(who.team_name, who.team_id),
            *self._models.policies(ctx.model),
            *self._prompts.policies(ctx.prompt_name),
            *requested,
        ]
        chosen = [self.policies[name] for name in dict.fromkeys(names)]
        return Selection(tuple(g for p in chosen for g in p.input), tuple(g for p in chosen for g in p.output))

    def requested(self, body: dict[str, Any]) -> list[str]:
        """The body's ``guardrails: [...]`` (removed from the body: it never reaches the upstream)."""
        raw = body.pop("guardrails", None)
        if raw is None:
            return []
        if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
            raise RequestError(
                "`guardrails` must be a list of policy names; it can add policies, not remove them.", param="guardrails"
            )
        unknown = [n for n in raw if n not in self.policies]
        if unknown:
            raise RequestError(
                f"Unknown guardrail policy: {', '.join(unknown[:5])}.", param="guardrails", code="unknown_guardrail"
            )
        return raw


async def run(guardrail: Guardrail, detector: Detector, texts: Sequence[str], rec: Recorder) -> list[list[Match]]:
    """The detector's matches for ``texts``, under the guardrail's deadline; fail closed unless fail-open."""
    try:
        if type(detector).scan is SyncDetector.scan:  # plain CPU: no task and timer for microseconds of work
            return _timed(detector, texts, guardrail.timeout)  # type: ignore[arg-type]
        return await asyncio.wait_for(detector.scan(texts), guardrail.timeout)
    except Exception as exc:  # any failure of a detector, ours or a plugin's: the same decision
        kind = "TimeoutError" if isinstance(exc, TimeoutError) else type(exc).__name__
        if guardrail.fail_open:
            logger.warning(
                "guardrail %s (policy %s) failed (%s); fail-open: request %s goes on unchecked",
                guardrail.name,
                guardrail.policy,
                kind,
                rec.ctx.request_id,
            )
            rec.add(guardrail, "fail_open", kind)
            return [[] for _ in texts]
        logger.warning(
            "guardrail %s (policy %s) failed (%s); fail closed: request %s refused",
            guardrail.name,
            guardrail.policy,
            kind,
            rec.ctx.request_id,
        )
        raise GuardrailUnavailable(
            f"Guardrail `{guardrail.name}` (policy `{guardrail.policy}`) could not check the "
            f"{STAGE_WORDS.get(rec.stage, rec.stage)} ({kind}); it fails closed, so it was refused.",
        ) from None


def _timed(detector: SyncDetector, texts: Sequence[str], timeout: float) -> list[list[Match]]:
    """A CPU-only detector's findings, run in place: it cannot be interrupted (nor could it in a task), so its
    deadline is checked when it returns, and an overrun fails the same way a timeout does.

    Its own work is what counts: a busy or throttled machine stalls the process for longer than a deadline
    (measured here: 0.5 s of wall time around 1 ms of work). The CPU clock is a system call (2 µs, more than
    the detector takes on a short text), so the wall clock is read around the call, and only when it says the
    deadline passed is the text read again under the CPU clock, to tell a stall from the detector's work."""
    started = time.perf_counter()
    found = detector.scan_now(texts)
    if time.perf_counter() - started <= timeout:
        return found
    started = time.thread_time()
    found = [detector.find(text) if text else [] for text in texts]  # not from its memo: the work is measured
    if time.thread_time() - started > timeout:
        raise TimeoutError
    return found


def bound(detector: Detector, body: Mapping[str, Any]) -> Detector | None:
    """The detector for this request: detectors that depend on it (``response_format``) bind to it."""
    bind = getattr(detector, "bind", None)
    return bind(body) if callable(bind) else detector  # type: ignore[no-any-return]


async def check_slots(
    guardrails: Sequence[Guardrail], slots: Sequence[Slot], body: Mapping[str, Any], rec: Recorder, vault: Vault
) -> bool:
    """Run ``guardrails`` over ``slots`` in order: block raises, redact and mask rewrite the slots (each
    guardrail sees the text the ones before left), warn only records. True when a slot was rewritten."""
    rewritten = False
    for guardrail in guardrails:
        chosen = [s for s in slots if guardrail.roles is None or s.role in guardrail.roles]
        detector = bound(guardrail.detector, body) if chosen else None
        if detector is None:
            continue
        results = await run(guardrail, detector, [s.text for s in chosen], rec)
        if not any(results):
            continue
        blocked = [m.entity for matches in results for m in matches]
        if guardrail.action == "block" and blocked:
            raise rec.block(guardrail, blocked)
        for slot, matches in zip(chosen, results, strict=True):
            if matches:
                rewritten |= _act(guardrail, slot, matches, rec, vault)
    return rewritten


def _act(guardrail: Guardrail, slot: Slot, matches: Sequence[Match], rec: Recorder, vault: Vault) -> bool:
    action = guardrail.action
    if action == "mask" and rec.stage != "pre_call":
        action = "redact"  # an answer's own values have no original to give back: redacted
    for match in matches:
        rec.add(guardrail, action, match.entity)
    if action == "warn":
        return False
    text = slot.text
    edits = [
        Edit(
            m.start,
            m.end,
            vault.placeholder(m.entity, text[m.start : m.end]) if action == "mask" else redaction(m.entity),
        )
        for m in matches
        if not m.whole
    ]
    slot.set(apply_edits(text, without_overlaps(edits)))
    return True


async def check_request(guardrails: Sequence[Guardrail], ctx: RequestContext, vault: Vault) -> None:
    slots_of = REQUEST_TEXT.get(ctx.endpoint)
    if slots_of is None or not guardrails:
        return
    await check_slots(guardrails, list(slots_of(ctx.body)), ctx.body, Recorder(ctx, "pre_call"), vault)


async def check_answer(
    guardrails: Sequence[Guardrail], ctx: RequestContext, answer: dict[str, Any], vault: Vault
) -> bool:
    """Check a whole answer (its text as the upstream wrote it, placeholders included), then give the masked
    values back. True when its text changed (else the caller can send the answer's bytes as they came)."""
    slots_of = ANSWER_TEXT.get(ctx.endpoint)
    if slots_of is None:
        return False
    slots = list(slots_of(answer))
    changed = await check_slots(guardrails, slots, ctx.body, Recorder(ctx, "post_call"), vault)
    if vault.originals:
        for slot in slots:
            text = slot.text
            restored = vault.restore(text)
            if restored != text:
                slot.set(restored)
                changed = True
    return changed
