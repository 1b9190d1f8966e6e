"""Python assertions for the eval suites in this folder (``type: python``, ``value: file://checks.py:NAME``).

Each function gets the output text and a context dict (vars, case_id, response, finish_reason, tool_calls,
latency_ms, cost_usd) and returns a bool, a score from 0 to 1, or {"pass", "score", "reason"}.
"""

from __future__ import annotations

import json
from typing import Any


def keeps_order_id(output: str, context: dict[str, Any]) -> dict[str, Any]:
    """The order id of the message is in the JSON; a message without one must not get an invented one."""
    try:
        data = json.loads(output)
    except json.JSONDecodeError:
        return {"pass": False, "score": 0.0, "reason": "output is not JSON"}
    expected = context["vars"].get("order_id")
    flat = json.dumps(data)
    if expected:
        found = expected in flat
        return {"pass": found, "score": 1.0 if found else 0.0,
                "reason": f"order id {expected} {'kept' if found else 'missing'}"}
    invented = data.get("order_id") if isinstance(data, dict) else None
    return {"pass": invented in (None, ""), "score": 1.0 if invented in (None, "") else 0.0,
            "reason": "no order id invented" if invented in (None, "") else f"invented order id {invented!r}"}
