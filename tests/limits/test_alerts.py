"""Budget alerts: the webhook is called once at 80% and once at 100% of a budget per period, across replicas."""

from __future__ import annotations

import asyncio
from typing import Any

from support.limits import CALL_COST, Pair, call


def alerts_for(pair: Pair, scope_id: str) -> list[dict[str, Any]]:
    return [body for body in pair.hook.bodies if body.get("id") == scope_id]


async def settled_alerts(pair: Pair, scope_id: str, expected: int, quiet: float = 0.3) -> list[dict[str, Any]]:
    """The alerts for ``scope_id`` once ``expected`` arrived (or 3 s passed), plus ``quiet`` s to catch extras."""
    for _ in range(150):
        if len(alerts_for(pair, scope_id)) >= expected:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(quiet)
    return alerts_for(pair, scope_id)


async def test_webhook_fires_once_at_80_and_once_at_100_percent(pair: Pair) -> None:
    created = pair.admin.client.post("/admin/keys", json={"name": "alerted", "budget_usd": 10 * CALL_COST}).json()
    key, key_id = created["key"], created["id"]
    urls = [pair.a.v1, pair.b.v1]
    for index in range(7):  # 70%: no alert yet
        assert (await call(urls[index % 2], key)).status == 200
    assert await settled_alerts(pair, key_id, 0) == []

    assert (await call(pair.b.v1, key)).status == 200  # 80%
    first = await settled_alerts(pair, key_id, 1)
    assert [a["threshold"] for a in first] == [0.8]
    assert first[0]["scope"] == "key" and first[0]["name"] == "alerted" and first[0]["period"] == "monthly"
    assert abs(first[0]["spent_usd"] - 8 * CALL_COST) < 1e-9 and first[0]["budget_usd"] == 10 * CALL_COST

    statuses = [(await call(urls[index % 2], key)).status for index in range(6)]  # both replicas see 90%, 100%
    assert statuses == [200, 200, 429, 429, 429, 429]
    assert [a["threshold"] for a in await settled_alerts(pair, key_id, 2, quiet=0.5)] == [0.8, 1.0]


async def test_team_budget_alert_names_the_team(pair: Pair) -> None:
    team = pair.admin.create_team(budget_usd=2 * CALL_COST, budget_period="weekly")
    key = pair.admin.create_key(team=team["id"])
    assert [(await call(pair.a.v1, key)).status for _ in range(3)] == [200, 200, 429]
    alerts = await settled_alerts(pair, team["id"], 2)
    # Both thresholds were crossed by one call: two alerts, sent side by side.
    assert sorted((a["scope"], a["threshold"], a["period"]) for a in alerts) == [
        ("team", 0.8, "weekly"),
        ("team", 1.0, "weekly"),
    ]
