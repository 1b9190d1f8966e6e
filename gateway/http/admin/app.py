"""The admin API app: FastAPI (validation and OpenAPI docs at ``/admin/docs``), master key on every route.

Each feature keeps its routes in a module of this package (a FastAPI ``APIRouter``) and adds it in
``admin_router``. Admin handlers may touch the database (through ``asyncio.to_thread``): this is not the hot path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from gateway import __version__
from gateway.errors import RequestError
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
    router = APIRouter(dependencies=[Depends(require_master)])
    from gateway.http.admin.prompts import prompts_router

    router.include_router(prompts_router())
    from gateway.http.admin.keys import keys_router

    router.include_router(keys_router())
    from gateway.http.admin.costs import costs_router

    router.include_router(costs_router())
    return router


def admin_app(exception_handlers: Mapping[Any, Callable[..., Any]]) -> FastAPI:
    from gateway.http.responses import error_response

    async def invalid_body(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return error_response(
            RequestError(f"{where}: {first.get('msg')}" if where else str(first.get("msg")), param=where or None)
        )

    app = FastAPI(
        title="LLMOps gateway admin API",
        version=__version__,
        exception_handlers={**exception_handlers, RequestValidationError: invalid_body},
    )
    app.include_router(admin_router())
    return app
