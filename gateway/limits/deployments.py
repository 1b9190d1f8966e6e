"""Per-deployment RPM/TPM from the config (``litellm_params.rpm/tpm``), as the router's admission hook.

Before each attempt the router asks ``admit``; a deployment at its limit is skipped for this request, and when
every deployment (and fallback) of a model is at its limit the client gets a 429 naming the deployment limit.
Admission takes one request and one token; the request's real tokens are charged to the deployment that
answered once it has ended (``settle``), so a deployment over its TPM waits until the bucket refills.
"""

from __future__ import annotations

from gateway.limits.counters import Check, Counters, Settle
from gateway.pipeline.context import RequestContext
from gateway.routing.deployment import Deployment


class DeploymentGate:
    def __init__(self, counters: Counters) -> None:
        self._counters = counters

    async def admit(self, deployment: Deployment) -> float | None:
        checks = []
        if deployment.rpm is not None:
            checks.append(Check(f"rpm:dep:{deployment.id}", "rate", deployment.rpm, 1))
        if deployment.tpm is not None:
            checks.append(Check(f"tpm:dep:{deployment.id}", "rate", deployment.tpm, 1))
        if not checks:
            return None
        if any(check.limit <= 0 for check in checks):
            return 60.0  # a zero limit never admits; ask again in a minute (the config may change)
        taken = await self._counters.take(checks)
        return None if taken.ok else max(taken.wait, 0.001)

    async def settle(self, ctx: RequestContext) -> None:
        deployment = ctx.deployment
        if deployment is None or deployment.tpm is None or deployment.tpm <= 0 or ctx.usage is None:
            return
        charge = Settle(f"tpm:dep:{deployment.id}", "rate", deployment.tpm, 1 - ctx.usage.total_tokens)
        await self._counters.settle([charge], self._counters.source())
