"""The admin API app: FastAPI (validation and OpenAPI docs at ``/admin/docs``), master key on every route,
the docs and the OpenAPI document included.

Each feature keeps its routes in a module of this package, as a module-level ``router`` (see ``common.py`` for
the shape), and ``admin_router`` includes it. Admin handlers may touch the database (through ``run_db``, in a
worker thread): this is not the hot path. This module is imported on the first admin request (``LazyAdmin``), so
FastAPI and the route modules cost the gateway's start-up nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.responses import Response

from gateway import __version__
from gateway.errors import PermissionDenied, RequestError
from gateway.http.admin import cache, costs, guardrails, keys, prompts
from gateway.http.responses import error_response
from gateway.http.services import Services, services

#: Where FastAPI puts a field in an error's ``loc``; the field's own path follows.
_SOURCES = frozenset({"body", "query", "path", "header", "cookie"})


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
    """Every feature's routes, behind the master key."""
    router = APIRouter(dependencies=[Depends(require_master)])
    for feature in (prompts.router, keys.router, costs.router, cache.router, guardrails.router):
        router.include_router(feature)
    return router


def admin_app(exception_handlers: Mapping[Any, Callable[..., Any]]) -> FastAPI:
    # FastAPI's own docs routes answer anyone; they are replaced by the same routes behind the master key.
    app = FastAPI(
        title="LLMOps gateway admin API",
        version=__version__,
        exception_handlers={**exception_handlers, RequestValidationError: invalid_request},
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    app.include_router(admin_router())
    app.include_router(docs_router)
    return app


async def invalid_request(request: Request, exc: Exception) -> Response:
    """FastAPI's validation failure as the gateway's 400: ``param`` names the first bad field (``models[0]``)."""
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    where = field_path(first.get("loc", ()))
    message = f"`{where}`: {first.get('msg')}" if where else str(first.get("msg"))
    return error_response(RequestError(message, param=where or None))


def field_path(loc: Sequence[int | str]) -> str:
    """``("body", "models", 0)`` -> ``models[0]``: the field as the client wrote it."""
    parts = list(loc)
    if parts and parts[0] in _SOURCES:
        parts = parts[1:]
    path = ""
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if path else str(part)
    return path


#: ``/admin/openapi.json``, ``/admin/docs`` and ``/admin/redoc``, each needing the master key. The two HTML pages
#: fetch the document from the browser, which sends no key: they are for a browser behind a header-adding proxy or
#: extension; ``curl -H "Authorization: Bearer $MASTER" .../admin/openapi.json`` works everywhere.
docs_router = APIRouter(dependencies=[Depends(require_master)], include_in_schema=False)


@docs_router.get("/openapi.json")
def openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@docs_router.get("/docs")
def docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(openapi_url=_document_url(request), title=f"{request.app.title} - docs")


@docs_router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return get_redoc_html(openapi_url=_document_url(request), title=f"{request.app.title} - ReDoc")


def _document_url(request: Request) -> str:
    return f"{request.scope.get('root_path', '')}/openapi.json"
