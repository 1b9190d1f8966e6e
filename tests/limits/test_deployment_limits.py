"""Per-deployment RPM from the config: the router skips a deployment at its limit, and says so when all are."""

from __future__ import annotations

from support.keyed import MASTER_KEY
from support.limits import Pair, call


async def test_router_skips_a_deployment_at_its_rpm(pair: Pair) -> None:
    # "dep-limited": dep-a (rpm 2, almost all the weight) and dep-b (no limit). Both gateways share dep-a's count.
    served = [(await call(url, MASTER_KEY, "dep-limited")).headers["x-gateway-deployment"]
              for url in [pair.a.v1, pair.b.v1] * 3]
    assert served.count("dep-a") == 2 and served.count("dep-b") == 4
    assert served[:2] == ["dep-a", "dep-a"]


async def test_all_deployments_at_their_limit_is_a_429_naming_the_deployment_limit(pair: Pair) -> None:
    assert (await call(pair.a.v1, MASTER_KEY, "solo-limited")).status == 200
    refused = await call(pair.b.v1, MASTER_KEY, "solo-limited")
    assert refused.status == 429 and refused.error is not None
    assert "solo-limited" in refused.error["message"] and "deployment rpm/tpm" in refused.error["message"]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
