"""``GET /v1/usage``: a key owner's own spend, with its own key. The same report as ``GET /admin/costs``
(``gateway.reports``), always filtered to the calling key.

Query parameters (both routes): ``start`` / ``end`` (``7d``, ``12h``, ``2026-11-01``, ISO times; default: the
last 7 UTC days), ``group_by`` (comma-separated: model, key, team, provider, prompt, tag, day; default model),
``format`` (``json`` or ``csv``). The admin route also filters by ``key``, ``team`` and ``model``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import orjson
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import DatabaseUnavailable, RequestError
from gateway.http.services import Services, services
from gateway.reports import Report, ReportQuery, parse_group_by, parse_range, run_report
from gateway.reports.render import report_csv, report_dict

MAX_FILTER_LENGTH = 255


async def usage(request: Request) -> Response:
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    query = report_query(request.query_params, key_id=principal.key_id or "", filters=False)
    return report_response(await run_in_thread(svc, query), request.query_params)


def report_query(params: Mapping[str, str], *, key_id: str | None = None, filters: bool = True) -> ReportQuery:
    """A report query from URL parameters; bad values are a 400 that names the parameter."""
    group_by = parse_group_by([params.get("group_by") or "model"])
    time_range = parse_range(
        params.get("start") or params.get("since"), params.get("end") or params.get("until"), names=("start", "end")
    )
    return ReportQuery(
        range=time_range,
        group_by=group_by,
        key_id=key_id if key_id is not None else _filter(params, "key", filters),
        team_id=_filter(params, "team", filters),
        model=_filter(params, "model", filters),
        by_name=key_id is None,  # the caller's own id, not a name to look up
    )


def _filter(params: Mapping[str, str], name: str, filters: bool) -> str | None:
    """A filter value is an id or a name as the database holds them: printable, at most 255 characters (a NUL
    would make PostgreSQL refuse the query)."""
    value = params.get(name) if filters else None
    if value is not None and (len(value) > MAX_FILTER_LENGTH or not value.isprintable()):
        raise RequestError(
            f"`{name}` must be at most {MAX_FILTER_LENGTH} printable characters (no control characters).", param=name
        )
    return value


async def run_in_thread(svc: Services, query: ReportQuery) -> Report:
    if svc.database is None:
        raise DatabaseUnavailable("The gateway has no database, so it has no request log to report on.")
    try:
        return await asyncio.to_thread(run_report, svc.database, query)
    except (OperationalError, InterfaceError) as exc:  # the driver's message may hold the URL: not in the answer
        retry = {"Retry-After": "2"}
        raise DatabaseUnavailable("The database cannot be reached now; try again.", headers=retry) from exc


def report_response(report: Report, params: Mapping[str, str]) -> Response:
    output = (params.get("format") or "json").lower()
    if output == "csv":
        headers = {"content-disposition": 'attachment; filename="costs.csv"'}
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    if output != "json":
        raise RequestError("`format` must be json or csv.", param="format")
    return Response(orjson.dumps(report_dict(report)), media_type="application/json")
