"""``GET /admin/costs``: the cost report over every key (master key), the same query as ``gateway costs report``.

    GET /admin/costs?group_by=model,day&start=7d&end=2026-11-30&format=json|csv[&key=..&team=..&model=..]

Parameters and the JSON shape: see ``gateway.http.handlers.usage`` and ``gateway.reports.render``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from gateway.http.handlers.usage import report_query, report_response, run_in_thread
from gateway.http.services import Services, services


def costs_router() -> APIRouter:
    router = APIRouter(tags=["costs"])
    master = Depends(services)  # the admin router's own dependency has checked the master key

    @router.get("/costs")
    async def costs(request: Request, svc: Services = master) -> Response:
        query = report_query(request.query_params)
        return report_response(await run_in_thread(svc, query), request.query_params)

    return router
