"""``GET /admin/costs``: the cost report over every key (master key), the same query as ``gateway costs report``.

    GET /admin/costs?group_by=model,day&start=7d&end=2026-11-30&format=json|csv[&key=..&team=..&model=..]

Parameters and the JSON shape: see ``gateway.http.handlers.usage`` and ``gateway.reports.render``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from gateway.http.admin.common import AdminRoute, GatewayServices
from gateway.http.handlers.usage import report_query, report_response, run_in_thread

router = APIRouter(tags=["costs"], route_class=AdminRoute)


@router.get("/costs")
async def costs(request: Request, svc: GatewayServices) -> Response:
    query = report_query(request.query_params)
    return report_response(await run_in_thread(svc, query), request.query_params)
