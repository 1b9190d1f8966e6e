"""The admin API app: FastAPI (validation and OpenAPI docs at ``/admin/docs``), master key on every route,
the docs and the OpenAPI document included.

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
from gateway.errors import PermissionDenied, RequestError
from gateway.http.services import Services, services


def require_master(request: Request) -> Services:
    """The master key, or, with none configured (local use on loopback), a caller with no key at all.

    A virtual key never administers, master key or not: on a keyless gateway it is still checked (so its limits
    hold), and it must not be the way to mint more keys.
    """
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    if principal.key_id == "master" or (svc.auth.open and principal.key_id is None):
        return svc
    raise PermissionDenied("The admin API needs the master key.")


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

    # FastAPI's own docs routes answer anyone; they are replaced by the same routes behind the master key.
    app = FastAPI(
        title="LLMOps gateway admin API",
        version=__version__,
        exception_handlers={**exception_handlers, RequestValidationError: invalid_body},
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(admin_router())
    app.include_router(docs_router(app))
    return app


def docs_router(app: FastAPI) -> APIRouter:
    """``/admin/openapi.json``, ``/admin/docs`` and ``/admin/redoc``, each needing the master key.

    The two HTML pages fetch the document from the browser, which sends no key: they are for a browser behind a
    header-adding proxy or extension; ``curl -H "Authorization: Bearer $MASTER" .../admin/openapi.json`` works
    everywhere.
    """
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.responses import HTMLResponse, JSONResponse

    router = APIRouter(dependencies=[Depends(require_master)], include_in_schema=False)

    @router.get("/openapi.json")
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @router.get("/docs")
    def docs(request: Request) -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=_document_url(request), title=f"{app.title} - docs")

    @router.get("/redoc")
    def redoc(request: Request) -> HTMLResponse:
        return get_redoc_html(openapi_url=_document_url(request), title=f"{app.title} - ReDoc")

    return router


def _document_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/openapi.json"
