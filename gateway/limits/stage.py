"""The limits stage: model access, RPM, TPM and budgets of the calling key and its team.

``before``: refuses a model the key may not use (403), then takes every applicable counter in one atomic step
(one Redis round trip): a request, its estimated tokens and its estimated cost. Any limit over -> 429 naming
the limit and when it resets; else the OpenAI-style ``x-ratelimit-*`` headers go on the response.
``after`` (it runs last, after the cost stage set ``ctx.cost_usd``): gives back what the estimate over-took,
charges the real tokens and cost, feeds the budget alerts, and charges the deployment's TPM.

Master key and anonymous (no master key configured) callers have no key limits; deployment limits still apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

from gateway.errors import PermissionDenied
from gateway.limits.alerts import BudgetAlerts, BudgetState
from gateway.limits.counters import Counters, LocalCounters, Settle, Taken
from gateway.limits.deployments import DeploymentGate
from gateway.limits.estimate import Estimate, Estimator
from gateway.limits.plan import Slot, rate_headers, refusal, scopes_of, slots_for
from gateway.limits.redis_counters import RedisCounters
from gateway.limits.seed import SpendSeeder
from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import StageParts, StreamFilter

NAME = "limits"
logger = logging.getLogger("gateway.limits")


@dataclass(slots=True)
class Reservation:
    slots: list[Slot]
    taken: Taken
    estimate: Estimate


class LimitsStage:
    name = NAME

    def __init__(
        self,
        counters: Counters,
        estimator: Estimator,
        *,
        deployments: DeploymentGate | None = None,
        alerts: BudgetAlerts | None = None,
        seeder: SpendSeeder | None = None,
        allow_unpriced: bool = False,
    ) -> None:
        self._counters = counters
        self._estimator = estimator
        self._deployments = deployments
        self._alerts = alerts
        self._seeder = seeder
        self._allow_unpriced = allow_unpriced

    @classmethod
    async def start(cls, parts: StageParts) -> Self:
        """Counters (Redis with an in-process fallback, or in-process), the deployments' admission hook, budget
        alerts, and the background seeding of this period's spend from the database."""
        config, router, redis = parts.config, parts.router, parts.redis
        prefix = config.gateway.redis_key_prefix
        counters: Counters = LocalCounters()
        failover = None
        if redis is not None:
            from gateway.limits.failover import FailoverCounters  # noqa: PLC0415 - imports redis: only with Redis

            counters = failover = FailoverCounters(RedisCounters(redis, prefix), LocalCounters())
        gate = None
        if router.has_deployment_limits:
            gate = DeploymentGate(counters)
            router.set_admission(gate.admit)
        webhook = config.gateway.budget_alert_webhook
        alerts = BudgetAlerts(webhook, redis, prefix) if webhook else None
        estimator = Estimator(router.reachable, parts.prices.price, frozenset(router.model_names))
        seeder = SpendSeeder(parts.database, parts.keys, counters)
        seeder.trigger()
        if failover is not None:
            failover.on_data_lost(seeder.reseed)  # Redis restarted empty: the budgets' spend so far counts again
            failover.seed_from(seeder.past_spend)  # a budget counter missing from Redis starts from the spend so far
        parts.keys.on_reload(seeder.trigger)  # a budget may have been added: its spend so far this period counts
        allow_unpriced = config.gateway.budget_unpriced_models == "allow"
        return cls(counters, estimator, deployments=gate, alerts=alerts, seeder=seeder, allow_unpriced=allow_unpriced)

    async def before(self, ctx: RequestContext) -> bytes | None:
        principal = ctx.principal
        if not principal.may_use(ctx.model):
            raise PermissionDenied(
                f"This key may not use the model `{ctx.model}`. See GET /v1/models for the models it may use.",
                param="model",
                code="model_not_allowed",
            )
        scopes = scopes_of(principal)
        if not scopes:
            return None
        if not self._allow_unpriced and any(scope.limits.budget_usd is not None for scope in scopes):
            self._refuse_unpriced(ctx.model)
        estimate = self._estimator.estimate(ctx)
        now = datetime.now(UTC)
        slots = [slot for scope in scopes for slot in slots_for(scope, estimate.tokens, estimate.cost_usd, now)]
        blocked = next((i for i, s in enumerate(slots) if s.metric != "budget" and s.check.limit <= 0), None)
        if blocked is not None:
            raise refusal(slots[blocked], Taken(False, failed=0, levels=(0.0,)), now)
        taken = await self._counters.take([slot.check for slot in slots])
        if not taken.ok:
            slot = slots[taken.failed or 0]
            if slot.metric == "budget":
                self._alert(slot, taken.levels[taken.failed or 0], exhausted=True)
            raise refusal(slot, taken, now)
        ctx.keep(NAME, Reservation(slots, taken, estimate))
        ctx.response_headers.update(rate_headers(slots, taken.levels))
        return None

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        return body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return None

    async def after(self, ctx: RequestContext) -> None:
        if self._deployments is not None:
            await self._deployments.settle(ctx)
        reservation = ctx.take(NAME)
        if not isinstance(reservation, Reservation):
            return
        tokens, cost = _actual(ctx, reservation.estimate)
        items: list[Settle] = []
        budget_slots: list[Slot] = []
        for slot, took in zip(reservation.slots, reservation.taken.taken, strict=True):
            check = slot.check
            if slot.metric == "tpm":
                items.append(Settle(check.key, "rate", check.limit, took - tokens))
            elif slot.metric == "budget":
                items.append(Settle(check.key, "budget", check.limit, took, cost, check.expire_at))
                budget_slots.append(slot)
        self._estimator.learn(ctx, reservation.estimate)
        if not items:
            return
        levels = await self._counters.settle(items, reservation.taken.source)
        if levels is not None and self._alerts is not None:
            spent = [level for item, level in zip(items, levels, strict=True) if item.kind == "budget"]
            for slot, level in zip(budget_slots, spent, strict=True):
                self._alert(slot, level)

    async def aclose(self) -> None:
        if self._seeder is not None:
            await self._seeder.aclose()
        if self._alerts is not None:
            await self._alerts.aclose()
        await self._counters.aclose()

    def _refuse_unpriced(self, model: str) -> None:
        """A budget cannot hold against a model whose cost is unknown: refused unless the config allows it."""
        unpriced = self._estimator.unpriced(model)
        if not unpriced:
            return
        names = ", ".join(f"{d.provider_name}/{d.upstream_model}" for d in unpriced)
        raise PermissionDenied(
            f"The model `{model}` has no known price ({names}) and this key or its team has a budget, which "
            "cannot be enforced without one. Set input_cost_per_token and output_cost_per_token in its "
            "litellm_params, or set gateway.budget_unpriced_models: allow to let budgeted keys use unpriced models.",
            param="model",
            code="model_unpriced",
        )

    def _alert(self, slot: Slot, spent: float, *, exhausted: bool = False) -> None:
        if self._alerts is None or slot.period is None:
            return
        scope, limits = slot.scope, slot.scope.limits
        start, end = slot.period
        state = BudgetState(
            scope.kind, scope.id, scope.name, slot.check.limit, spent, limits.budget_period, start, end
        )
        self._alerts.observe(state, exhausted=exhausted)


def _actual(ctx: RequestContext, estimate: Estimate) -> tuple[int, float]:
    """Real tokens and cost. A request that never reached a provider costs nothing; one that did but has no
    usage or price is charged its estimate (never silently 0)."""
    if ctx.deployment is None:
        return 0, 0.0
    tokens = ctx.usage.total_tokens if ctx.usage is not None else estimate.tokens
    if ctx.cost_usd is not None:
        return tokens, ctx.cost_usd
    return tokens, estimate.cost_usd or 0.0
