"""The dashboard's own reads, beside the reports (``gateway.reports``) and the stores it shares with the admin API.

Each is synchronous (run in a worker thread) and bounded: the request log is read by its primary key or its
``created_at`` index, a page at a time, so a page answers in milliseconds at millions of rows (docs/dashboard.md,
"Fast at scale").
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, desc, func, select
from sqlmodel import col

from gateway.db import Database
from gateway.db.evals import EvalRun
from gateway.db.keys import Team, VirtualKey
from gateway.db.logs import RequestLog, request_logs_table
from gateway.db.prompts import Prompt, PromptVersion

PAGE_SIZE = 50
SEMANTIC_HIT = "semantic-hit"
TTFT_SAMPLE = 1_000  # time to first token: the newest streams of the period, at most this many (bench: 10,000 took
# ~0.5 s at a million rows, one heap read each; the log has no index on ttft_ms)
#: What the requests list shows of a row: never the stored bodies (the detail view shows them).
LIST_COLUMNS: tuple[Any, ...] = (
    RequestLog.id,
    RequestLog.request_id,
    RequestLog.created_at,
    RequestLog.model,
    RequestLog.deployment_id,
    RequestLog.status,
    RequestLog.stream,
    RequestLog.attempts,
    RequestLog.latency_ms,
    RequestLog.ttft_ms,
    RequestLog.prompt_tokens,
    RequestLog.completion_tokens,
    RequestLog.cost_usd,
    RequestLog.cache_status,
    RequestLog.error_type,
    RequestLog.key_id,
    RequestLog.team_id,
    RequestLog.prompt_name,
    RequestLog.prompt_version,
    RequestLog.tags,
)


@dataclass(frozen=True, slots=True)
class Names:
    keys: dict[str, str]
    teams: dict[str, str]

    def key(self, key_id: str | None) -> str | None:
        return None if key_id is None else self.keys.get(key_id, "master" if key_id == "master" else key_id)

    def team(self, team_id: str | None) -> str | None:
        return None if team_id is None else self.teams.get(team_id, team_id)

    def ids(self, params: Mapping[str, str]) -> dict[str, str]:
        """``params`` with a key or team given by name turned into its id (the log and the reports hold ids)."""
        found = dict(params)
        for field, table in (("key", self.keys), ("team", self.teams)):
            value = params.get(field)
            if value and value not in table:
                found[field] = next((id_ for id_, name in table.items() if name == value), value)
        return found


def names(database: Database) -> Names:
    """Key and team names by id (a gateway has hundreds of keys, not millions)."""
    with database.engine.connect() as connection:
        keys = {row[0]: row[1] for row in connection.execute(select(col(VirtualKey.id), col(VirtualKey.name)))}
        teams = {row[0]: row[1] for row in connection.execute(select(col(Team.id), col(Team.name)))}
    return Names(keys, teams)


@dataclass(frozen=True, slots=True)
class LogFilter:
    model: str | None = None
    key_id: str | None = None
    team_id: str | None = None
    errors_only: bool = False
    before: int | None = None  # the id of the last row of the previous page


def recent_requests(database: Database, where: LogFilter, limit: int = PAGE_SIZE) -> list[dict[str, Any]]:
    """One page of the log, newest first, by primary key (keyset pagination: no OFFSET to walk)."""
    query: Select[Any] = select(*LIST_COLUMNS).order_by(desc(col(RequestLog.id))).limit(limit)
    conditions = [
        col(RequestLog.model) == where.model if where.model else None,
        col(RequestLog.key_id) == where.key_id if where.key_id else None,
        col(RequestLog.team_id) == where.team_id if where.team_id else None,
        col(RequestLog.status) >= 400 if where.errors_only else None,
        col(RequestLog.id) < where.before if where.before is not None else None,
    ]
    found = [condition for condition in conditions if condition is not None]
    if found:
        query = query.where(and_(*found))
    with database.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def request_detail(database: Database, request_id: str) -> dict[str, Any] | None:
    with database.engine.connect() as connection:
        table = request_logs_table()
        row = connection.execute(select(table).where(table.c.request_id == request_id)).first()
    return dict(row._mapping) if row is not None else None


def ttft_percentiles(database: Database, start: datetime, end: datetime) -> tuple[int, list[float | None]]:
    """p50/p95/p99 time to first token of the newest streams in the range (at most ``TTFT_SAMPLE``)."""
    query = (
        select(col(RequestLog.ttft_ms))
        .where(col(RequestLog.created_at) >= start, col(RequestLog.created_at) < end)
        .where(col(RequestLog.ttft_ms).is_not(None))
        .order_by(desc(col(RequestLog.created_at)))
        .limit(TTFT_SAMPLE)
    )
    with database.engine.connect() as connection:
        values = sorted(float(v) for v in connection.execute(query).scalars() if v is not None)
    if not values:
        return 0, [None, None, None]
    return len(values), [values[min(len(values) - 1, int(q * len(values)))] for q in (0.5, 0.95, 0.99)]


def prompt_versions(database: Database, name: str) -> list[dict[str, Any]]:
    query = (
        select(col(PromptVersion.version), col(PromptVersion.created_at), col(PromptVersion.created_by))
        .join(Prompt, col(Prompt.id) == col(PromptVersion.prompt_id))
        .where(col(Prompt.name) == name)
        .order_by(desc(col(PromptVersion.version)))
    )
    with database.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(query)]


def eval_runs(database: Database, prompt: str, limit: int = 20) -> list[EvalRun]:
    with database.session() as session:
        query = (
            select(EvalRun)
            .where(col(EvalRun.prompt_name) == prompt)
            .order_by(desc(col(EvalRun.created_at)), desc(col(EvalRun.id)))
            .limit(limit)
        )
        return list(session.scalars(query))


def semantic_hits(database: Database, start: datetime, end: datetime) -> dict[str, int]:
    """Semantic hits of the range by model. The roll-ups count exact and semantic hits as one ``cached``: the
    split is read from the log, through its partial index on semantic hits (``ix_request_logs_semantic_hits``)."""
    query = (
        select(col(RequestLog.model), func.count())
        .where(col(RequestLog.cache_status) == SEMANTIC_HIT)
        .where(col(RequestLog.created_at) >= start, col(RequestLog.created_at) < end)
        .group_by(col(RequestLog.model))
    )
    with database.engine.connect() as connection:
        return {str(model): int(count) for model, count in connection.execute(query)}
