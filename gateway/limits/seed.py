"""Spend so far in the current period, read once at start-up from the daily roll-ups, so budgets survive restarts.

One query per start (not per request), run in the background: ``daily_rollups`` holds cost per key, team and
UTC day. Counters that Redis already holds are left alone (see ``Counters.seed``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import text

from gateway.db import Database

_QUERY = text(
    "SELECT key_id, team_id, day, SUM(cost_usd) FROM daily_rollups WHERE day >= :since "
    "GROUP BY key_id, team_id, day"
)


def spend_by_day(db: Database, since: date) -> tuple[dict[str, dict[date, float]], dict[str, dict[date, float]]]:
    """(per key id, per team id) -> {day: cost} for every day from ``since``."""
    keys: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    teams: dict[str, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    with db.engine.connect() as connection:
        for key_id, team_id, raw_day, cost in connection.execute(_QUERY, {"since": since}):
            day = raw_day if isinstance(raw_day, date) else date.fromisoformat(str(raw_day))  # SQLite: text
            if key_id:
                keys[key_id][day] += float(cost or 0)
            if team_id:
                teams[team_id][day] += float(cost or 0)
    return keys, teams


def total_since(days: dict[date, float], start: date) -> float:
    return sum(cost for day, cost in days.items() if day >= start)
