"""What ``gateway guardrails list|test|report`` and ``/admin/guardrails`` share: describing the loaded policies,
trying text against them, and counting findings in the request log.

``try_text`` runs the guardrails as the stage would, on one text, and answers the findings (guardrail, policy,
action, entity and the span's offsets) and the text as it would go upstream; a person tries a policy on text of
their own before shipping it, so offsets are given, but never the matched values themselves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from gateway.db import Database
from gateway.db.logs import RequestLog
from gateway.errors import GuardrailUnavailable, RequestError
from gateway.guardrails.engine import Recorder, bound, run
from gateway.guardrails.masking import Edit, Vault, apply_edits, redaction, without_overlaps
from gateway.guardrails.policy import Guardrail, Policy
from gateway.pipeline.context import RequestContext

#: Dimensions ``report`` can group by, and how a finding's row gives each.
DIMENSIONS = ("guardrail", "policy", "action", "entity", "stage", "key", "team", "prompt")


def describe(policies: Mapping[str, Policy]) -> list[dict[str, Any]]:
    return [
        {
            "name": policy.name,
            "source": policy.source,
            "guardrails": [_guardrail(g) for g in (*policy.input, *policy.output)],
        }
        for policy in policies.values()
    ]


def _guardrail(guardrail: Guardrail) -> dict[str, Any]:
    return {
        "name": guardrail.name,
        "side": guardrail.side,
        "detector": type(guardrail.detector).__name__,
        "action": guardrail.action,
        "timeout_ms": round(guardrail.timeout * 1000),
        "fail_open": guardrail.fail_open,
    }


@dataclass(slots=True)
class Trial:
    findings: list[dict[str, Any]] = field(default_factory=list)
    blocked_by: str | None = None
    error: str | None = None
    text: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"blocked_by": self.blocked_by, "error": self.error, "findings": self.findings, "text": self.text}


async def try_text(policies: Mapping[str, Policy], names: Sequence[str], text: str, side: str = "input") -> Trial:
    """Run the named policies' guardrails of ``side`` (``input`` or ``output``) over ``text``."""
    unknown = [n for n in names if n not in policies]
    if unknown:
        raise RequestError(f"Unknown guardrail policy: {', '.join(unknown)}.", param="policy")
    chosen = [policies[n] for n in (names or list(policies))]
    guardrails = [g for p in chosen for g in (p.input if side == "input" else p.output)]
    trial, vault = Trial(text=text), Vault()
    rec = Recorder(RequestContext(request_id="try", endpoint="chat", body={}, model="-"), "pre_call")
    for guardrail in guardrails:
        detector = bound(guardrail.detector, {})
        if detector is None:
            continue
        try:
            matches = (await run(guardrail, detector, [trial.text], rec))[0]
        except GuardrailUnavailable as exc:
            trial.error = exc.message
            return trial
        edits: list[Edit] = []
        for m in matches:
            span = None if m.whole else [m.start, m.end]
            trial.findings.append(
                {
                    "guardrail": guardrail.name,
                    "policy": guardrail.policy,
                    "action": guardrail.action,
                    "entity": m.entity,
                    "span": span,
                    "score": round(m.score, 3),
                }
            )
            if not m.whole and guardrail.action in ("redact", "mask"):
                value = trial.text[m.start : m.end]
                token = vault.placeholder(m.entity, value) if guardrail.action == "mask" else redaction(m.entity)
                edits.append(Edit(m.start, m.end, token))
        if matches and guardrail.action == "block":
            trial.blocked_by = guardrail.name
            return trial
        trial.text = apply_edits(trial.text, without_overlaps(edits))
    return trial


def report(database: Database, since: datetime, group_by: Sequence[str]) -> list[dict[str, Any]]:
    """Findings in the request log since ``since``, counted by ``group_by`` (of ``DIMENSIONS``)."""
    bad = [d for d in group_by if d not in DIMENSIONS]
    if bad or not group_by:
        raise ValueError(f"group_by takes {', '.join(DIMENSIONS)}; got {', '.join(bad) or 'nothing'}")
    table = RequestLog.__table__  # type: ignore[attr-defined]
    query = select(
        table.c.guardrails, table.c.key_id, table.c.team_id, table.c.prompt_name, table.c.prompt_version
    ).where(table.c.created_at >= since, table.c.guardrails.is_not(None))
    counts: Counter[tuple[str, ...]] = Counter()
    with database.session() as session:
        for found, key, team, prompt, version in session.execute(query):
            for finding in found or ():
                row = {
                    **finding,
                    "key": key or "",
                    "team": team or "",
                    "prompt": f"{prompt}@{version}" if prompt else "",
                }
                counts[tuple(str(row.get(d, "")) for d in group_by)] += 1
    return [{**dict(zip(group_by, key, strict=True)), "count": n} for key, n in counts.most_common()]
