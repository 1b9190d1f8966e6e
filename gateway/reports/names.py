"""Keys and teams by name in reports: filters accept a name or an id (as the ``keys`` commands do), and every report
grouped by key or team shows the name beside the id.

Contract:

* ``resolve_filters(connection, query)``: the query with its ``key_id`` / ``team_id`` filters as ids. A value that
  is an id stays (a key or team id, or one the log holds); else an active key's name (or, failing that, the newest
  key of that name), or a team's name, is replaced by its id. A value that names nothing is a ``RequestError`` (a
  400 naming the parameter; the CLI exits with a usage error), never an empty report. ``""`` (requests made
  without a key) stays as it is.
* ``Names.load(connection)``: id -> name for every key and team, read once per report (two small queries).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from gateway.db.keys import Team, VirtualKey
from gateway.db.logs import daily_rollups_table, request_logs_table
from gateway.errors import RequestError

if TYPE_CHECKING:
    from gateway.reports.query import ReportQuery

_KEYS = VirtualKey.__table__.c  # type: ignore[attr-defined]
_TEAMS = Team.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class Names:
    keys: dict[str, str]
    teams: dict[str, str]

    @classmethod
    def load(cls, connection: Connection) -> Names:
        keys = {row[0]: row[1] for row in connection.execute(select(_KEYS.id, _KEYS.name))}
        teams = {row[0]: row[1] for row in connection.execute(select(_TEAMS.id, _TEAMS.name))}
        return cls(keys, teams)


def resolve_filters(connection: Connection, query: ReportQuery) -> ReportQuery:
    key_id, team_id = query.key_id, query.team_id
    if key_id:
        key_id = _key_id(connection, key_id)
    if team_id:
        team_id = _team_id(connection, team_id)
    return replace(query, key_id=key_id, team_id=team_id)


def _key_id(connection: Connection, ref: str) -> str:
    if connection.execute(select(_KEYS.id).where(_KEYS.id == ref)).first() is not None:
        return ref
    named = select(_KEYS.id).where(_KEYS.name == ref)
    # An active key of that name first (names are unique among active keys), else the newest revoked one.
    found = connection.execute(
        named.order_by(_KEYS.revoked_at.is_not(None), _KEYS.created_at.desc()).limit(1)
    ).scalar()
    if found is None and not _logged(connection, "key_id", ref):
        raise RequestError(f"No key has the id or name {ref!r}.", param="key")
    return ref if found is None else str(found)


def _team_id(connection: Connection, ref: str) -> str:
    found = connection.execute(select(_TEAMS.id).where((_TEAMS.id == ref) | (_TEAMS.name == ref)).limit(1)).scalar()
    if found is None and not _logged(connection, "team_id", ref):
        raise RequestError(f"No team has the id or name {ref!r}.", param="team")
    return ref if found is None else str(found)


def _logged(connection: Connection, column: str, ref: str) -> bool:
    """An id the log holds though the key tables do not (a log kept from another key store): still an id."""
    return any(
        connection.execute(select(table.c.id).where(table.c[column] == ref).limit(1)).first() is not None
        for table in (daily_rollups_table(), request_logs_table())
    )
