"""The admin API under ``/admin``: keys, teams, costs, prompts. Every route needs the master key.

Each feature keeps its routes in a module of this package (a FastAPI ``APIRouter``) and adds it in
``admin_router``. Admin handlers may touch the database (through ``asyncio.to_thread``): this is not the hot path.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from gateway.http.services import Services, services


def require_master(request: Request) -> Services:
    """The master key, or, with none configured (local use), nobody needs one."""
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    if not svc.auth.open and principal.key_id != "master":
        from gateway.errors import PermissionDenied

        raise PermissionDenied("The admin API needs the master key.")
    return svc


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/admin", dependencies=[Depends(require_master)])
    from gateway.http.admin.prompts import prompts_router

    router.include_router(prompts_router())
    from gateway.http.admin.keys import keys_router

    router.include_router(keys_router())
    from gateway.http.admin.costs import costs_router

    router.include_router(costs_router())
    return router
