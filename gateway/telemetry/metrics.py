"""Prometheus metrics (prometheus-client), counted once per request from its record, served on ``GET /metrics``.

Cardinality is bounded by design: every label value comes from the config or the gateway itself (model names
that route, deployment ids, team names, guardrail and policy names, HTTP statuses, error types, cache statuses,
guardrail actions and stages), never from what a client sent. A model name
no route knows is counted under ``other``.

With several worker processes (``gateway serve --workers N``) the server sets ``PROMETHEUS_MULTIPROC_DIR`` before
the workers start: each worker writes its values to files there, and a scrape of any worker reads them all
(prometheus-client's multiprocess mode). The registry belongs to the app: two apps in one process (tests) do not
share counts.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, Literal

from gateway.errors import UpstreamError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.routing.deployment import Deployment
from gateway.telemetry import semconv as sc

if TYPE_CHECKING:  # loaded by ``Metrics`` only: a gateway with metrics off never imports prometheus-client
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def multiprocess_dir(environ: Mapping[str, str] = os.environ) -> str | None:
    return environ.get(MULTIPROCESS_ENV) or None


class Metrics:
    def __init__(self, model_names: Collection[str], environ: Mapping[str, str] = os.environ) -> None:
        self._models = frozenset(model_names)
        from prometheus_client import CollectorRegistry  # noqa: PLC0415 - only a gateway with metrics on loads it

        self._shared = multiprocess_dir(environ)
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.requests = _counter(sc.REQUESTS, registry)
        self.duration = _histogram(sc.DURATION, registry, sc.DURATION_BUCKETS)
        self.ttft = _histogram(sc.TTFT, registry, sc.DURATION_BUCKETS)
        self.overhead = _histogram(sc.OVERHEAD, registry, sc.OVERHEAD_BUCKETS)
        self.tokens = _histogram(sc.TOKENS, registry, sc.TOKEN_BUCKETS)
        self.cost = _counter(sc.COST_TOTAL, registry)
        self.cache = _counter(sc.CACHE, registry)
        self.savings = _counter(sc.SAVINGS, registry)
        self.guardrail_actions = _counter(sc.GUARDRAIL_ACTIONS, registry)
        self.rate_limited = _counter(sc.RATE_LIMITED, registry)
        self.upstream_errors = _counter(sc.UPSTREAM_ERRORS, registry)
        self.retries = _counter(sc.RETRIES, registry)
        self.cooldowns = _counter(sc.COOLDOWNS, registry)
        # Per process: summed over the live workers (spill files are per process too); the lag is the worst one.
        self.log_queue = _gauge(sc.LOG_QUEUE, registry, "livesum")
        self.log_spill = _gauge(sc.LOG_SPILL, registry, "livesum")
        self.log_lag = _gauge(sc.LOG_LAG, registry, "livemax")

    def model_label(self, model: str) -> str:
        return model if model in self._models else sc.OTHER

    def observe(self, ctx: RequestContext, record: RequestRecord) -> None:
        """Count one finished request."""
        model = self.model_label(record.model)
        team = ctx.principal.team_name or sc.NONE
        child = self._child
        child(self.requests, model, str(record.status), team).inc()
        child(self.duration, model).observe(record.latency_ms / 1000)
        child(self.overhead, model).observe(ctx.overhead_ms / 1000)
        if record.ttft_ms is not None:
            child(self.ttft, model).observe(record.ttft_ms / 1000)
        if record.prompt_tokens is not None:
            child(self.tokens, model, "input").observe(record.prompt_tokens)
        if record.completion_tokens is not None:
            child(self.tokens, model, "output").observe(record.completion_tokens)
        if record.cost_usd:
            child(self.cost, model, team).inc(record.cost_usd)
        child(self.cache, model, _known(record.cache_status, sc.CACHE_STATUS_VALUES)).inc()
        if record.cache_savings_usd:  # exact and semantic hits alike (the cost stage prices both)
            child(self.savings, model).inc(record.cache_savings_usd)
        for finding in record.guardrails or ():
            child(self.guardrail_actions, *_guardrail_labels(finding)).inc()
        if record.attempts > 1:
            child(self.retries, model).inc(record.attempts - 1)
        if record.status == 429 and record.attempts == 0:  # the gateway's own limit, not an upstream's 429
            child(self.rate_limited, model, team).inc()

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, kept: prometheus-client checks the labels and takes a lock on every call,
        which costs more than the count itself. Bounded as the labels are (see the module's docstring)."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def upstream_failure(self, deployment: Deployment, error: UpstreamError, cooled: bool) -> None:
        self.upstream_errors.labels(deployment.id, error.error_type).inc()
        if cooled:
            self.cooldowns.labels(deployment.id).inc()

    def backlog(self, queued: int, spilled: int, lag: float) -> None:
        self.log_queue.set(queued)
        self.log_spill.set(spilled)
        self.log_lag.set(lag)

    def exposition(self) -> bytes:
        """The text a scrape gets: this process's registry, or every worker's files in multiprocess mode."""
        from prometheus_client import CollectorRegistry, generate_latest, multiprocess  # noqa: PLC0415 - see __init__

        if self._shared is None:
            return generate_latest(self.registry)
        merged = CollectorRegistry(auto_describe=False)
        multiprocess.MultiProcessCollector(merged, path=self._shared)  # type: ignore[no-untyped-call]
        return generate_latest(merged)


def _known(value: str, known: Collection[str]) -> str:
    return value if value in known else sc.OTHER


def _guardrail_labels(finding: Mapping[str, str]) -> tuple[str, str, str, str]:
    """Guardrail and policy names come from the loaded policies (the config); action and stage from fixed sets.
    The entity is left out: a Python guardrail may name its own, and a fail-open finding names an exception."""
    return (
        finding.get("guardrail", ""),
        finding.get("policy", ""),
        _known(finding.get("action", ""), sc.GUARDRAIL_ACTION_VALUES),
        _known(finding.get("stage", ""), sc.GUARDRAIL_STAGE_VALUES),
    )


def _counter(metric: sc.Metric, registry: CollectorRegistry) -> Counter:
    from prometheus_client import Counter  # noqa: PLC0415 - loaded by Metrics already (see its __init__)

    return Counter(metric.name, metric.help, metric.labels, unit=metric.unit, registry=registry)


def _histogram(metric: sc.Metric, registry: CollectorRegistry, buckets: tuple[float, ...]) -> Histogram:
    from prometheus_client import Histogram  # noqa: PLC0415 - idem

    return Histogram(metric.name, metric.help, metric.labels, unit=metric.unit, registry=registry, buckets=buckets)


def _gauge(metric: sc.Metric, registry: CollectorRegistry, mode: Literal["livesum", "livemax"]) -> Gauge:
    from prometheus_client import Gauge  # noqa: PLC0415 - idem

    return Gauge(metric.name, metric.help, metric.labels, unit=metric.unit, registry=registry, multiprocess_mode=mode)
