"""``compare``: how the variants of a prompt do in real traffic, from the request log.

Per version that served the prompt in the window: requests, errors (status >= 400) and error rate, cost per
request, mean latency, and the latest eval score when eval runs exist. Each other version is tested against the
label's main version with Fisher's exact test on the error counts: a small p-value (< 0.05) says the difference
in error rate is unlikely to be chance.

The window starts when the label's canary started, so both variants are measured over the same period, or
``since`` when given, or 7 days ago.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlmodel import Session, col

from gateway.db import Database
from gateway.db.audit import utcnow
from gateway.db.logs import RequestLog
from gateway.prompts.eval_scores import latest_scores
from gateway.prompts.registry import label_row, prompt_row
from gateway.prompts.stats import fisher_exact

DEFAULT_WINDOW = timedelta(days=7)
SIGNIFICANT = 0.05


@dataclass(slots=True)
class Variant:
    version: int
    role: str  # "main", "canary" or "other"
    requests: int
    errors: int
    cost_usd: float
    latency_ms: float
    eval_score: float | None = None
    eval_passed: bool | None = None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def cost_per_request(self) -> float:
        return self.cost_usd / self.requests if self.requests else 0.0


@dataclass(slots=True)
class ErrorRateTest:
    version: int
    against: int
    p_value: float
    test: str = "Fisher's exact test (two-sided) on error counts"

    @property
    def significant(self) -> bool:
        return self.p_value < SIGNIFICANT


@dataclass(slots=True)
class Comparison:
    name: str
    label: str
    since: datetime
    main_version: int | None
    canary_version: int | None
    canary_percent: float | None
    variants: list[Variant] = field(default_factory=list)
    tests: list[ErrorRateTest] = field(default_factory=list)


def compare(database: Database, name: str, *, label: str = "production", since: datetime | None = None) -> Comparison:
    with database.session() as session:
        prompt = prompt_row(session, name)
        assert prompt.id is not None
        row = label_row(session, prompt.id, label)
        main = row.version if row else None
        canary = row.canary_version if row else None
        start = since or (row.canary_started_at if row and row.canary_started_at else utcnow() - DEFAULT_WINDOW)
        result = Comparison(name, label, start, main, canary, row.canary_percent if row else None)
        for number, requests, errors, cost, latency in _per_version(session, name, start):
            role = "main" if number == main else "canary" if number == canary else "other"
            result.variants.append(Variant(number, role, requests, errors, cost, latency))
        _attach_eval_scores(session, name, result.variants)
    baseline = next((v for v in result.variants if v.role == "main"), None)
    if baseline is not None:
        for variant in result.variants:
            if variant is not baseline:
                p = fisher_exact(variant.errors, variant.requests - variant.errors,
                                 baseline.errors, baseline.requests - baseline.errors)
                result.tests.append(ErrorRateTest(variant.version, baseline.version, p))
    return result


def _per_version(session: Session, name: str, since: datetime) -> list[tuple[int, int, int, float, float]]:
    failed = func.sum(case((col(RequestLog.status) >= 400, 1), else_=0), type_=Integer)
    query = (
        select(
            col(RequestLog.prompt_version), func.count(), failed,
            func.coalesce(func.sum(col(RequestLog.cost_usd)), 0.0), func.avg(col(RequestLog.latency_ms)),
        )
        .where(col(RequestLog.prompt_name) == name, col(RequestLog.prompt_version).is_not(None))
        .where(col(RequestLog.created_at) >= since)
        .group_by(col(RequestLog.prompt_version))
        .order_by(col(RequestLog.prompt_version))
    )
    return [
        (int(v), int(n), int(e or 0), float(c or 0.0), float(lat or 0.0))
        for v, n, e, c, lat in session.execute(query).all()
    ]


def _attach_eval_scores(session: Session, name: str, variants: list[Variant]) -> None:
    """The latest eval run's score per version, for the versions that have eval runs."""
    scores: dict[int, tuple[float | None, bool | None]] = latest_scores(session, name, [v.version for v in variants])
    for variant in variants:
        if variant.version in scores:
            variant.eval_score, variant.eval_passed = scores[variant.version]


def as_dict(comparison: Comparison) -> dict[str, Any]:
    return {
        "name": comparison.name,
        "label": comparison.label,
        "since": comparison.since.isoformat(),
        "main_version": comparison.main_version,
        "canary_version": comparison.canary_version,
        "canary_percent": comparison.canary_percent,
        "variants": [
            {
                "version": v.version, "role": v.role, "requests": v.requests, "errors": v.errors,
                "error_rate": v.error_rate, "cost_per_request_usd": v.cost_per_request,
                "latency_ms_mean": v.latency_ms, "eval_score": v.eval_score, "eval_passed": v.eval_passed,
            }
            for v in comparison.variants
        ],
        "tests": [
            {"version": t.version, "against": t.against, "p_value": t.p_value, "significant": t.significant,
             "test": t.test}
            for t in comparison.tests
        ],
    }
