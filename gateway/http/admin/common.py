"""What every admin route module shares: the services, bounded bodies, the database call, JSON answers, change
notices. A route module (``keys.py``, ``prompts.py``, ...) is one module-level router and plain route functions:

    router = APIRouter(prefix="/things", tags=["things"], route_class=AdminRoute)

    @router.post("", status_code=201)
    async def create(body: ThingSpec, svc: GatewayServices) -> Response:
        row = await run_db(svc, store.create, body, errors=STORE_ERRORS)
        await publish(svc, TOPIC, row.name)
        return json_response(view(row), 201)

Request bodies are pydantic models in the signature: FastAPI validates them (the app turns a failure into an
OpenAI-shaped 400 naming the field) and ``/admin/docs`` shows their schema.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends
from fastapi.routing import APIRoute
from pydantic import AfterValidator
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Message

from gateway.errors import DatabaseUnavailable, GatewayError, RequestError
from gateway.http.body import read_json
from gateway.http.services import Services, services
from gateway.keys.models import printable_name

T = TypeVar("T")
#: A feature's own exceptions and the gateway error each becomes (``str(exc)`` is the message). The first class
#: that matches wins, so list subclasses before their base.
ErrorMap = Mapping[type[Exception], Callable[[str], GatewayError]]
#: The gateway's ``Services`` (config, database, Redis, change bus, pipeline), as a route parameter:
#: ``svc: GatewayServices``. The admin router's own dependency has already checked the master key.
GatewayServices = Annotated[Services, Depends(services)]
#: Names, ids, references, labels and actors (in the path, the query or the body) are looked up in or written to
#: the database and the audit log: printable, at most 255 characters, else a 400 naming the field (a NUL made
#: PostgreSQL refuse them).
Text = Annotated[str, AfterValidator(printable_name)]


class AdminRoute(APIRoute):
    """A route whose JSON body is read within the gateway's limits before FastAPI validates it.

    FastAPI reads a body whole, whatever its size or nesting; this reads it as the proxy does (``read_json``:
    ``gateway.max_body_bytes``, the nesting bound of ``gateway.http.bounds``, a 400 for anything but a JSON object)
    and hands FastAPI the parsed object again, as JSON whatever ``content-type`` the client sent (``curl -d``
    sends a form type; the gateway's bodies are JSON). Routes without a body are left as FastAPI builds them.
    """

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def bounded(request: Request) -> Response:
            body = await read_json(request, services(request).config.gateway.max_body_bytes)
            response: Response = await handler(_as_json(request, orjson.dumps(body)))
            return response

        return bounded


def _as_json(request: Request, raw: bytes) -> Request:
    """The same request with ``raw`` as its body and a JSON content type."""
    headers = [(name, value) for name, value in request.scope["headers"] if name != b"content-type"]
    scope = {**request.scope, "headers": [*headers, (b"content-type", b"application/json")]}

    async def receive() -> Message:
        return {"type": "http.request", "body": raw, "more_body": False}

    return Request(scope, receive)


async def run_db(svc: Services, fn: Callable[..., T], *args: Any, errors: ErrorMap | None = None) -> T:
    """``fn(database, *args)`` in a worker thread (store calls block; the event loop must not), its failures as
    gateway errors: the feature's own through ``errors``, a ``ValueError`` as a 400, a value the database cannot
    store as a 400, and no database, or one that cannot be reached now, as a 503 ``database_unavailable``."""
    if svc.database is None:
        raise DatabaseUnavailable("This gateway has no database.")
    errors = errors or {}
    try:
        return await asyncio.to_thread(fn, svc.database, *args)
    except _caught(errors) as exc:
        raise translated(exc, errors) from exc
    except DataError as exc:  # what the models' checks should have refused first (a NUL in a prompt's text, say)
        raise RequestError("A value in the request cannot be stored (out of range, or a NUL character).") from exc
    except (OperationalError, InterfaceError) as exc:  # the driver's message may hold the URL: not in the answer
        retry = {"Retry-After": "2"}
        raise DatabaseUnavailable("The database cannot be reached now; try again.", headers=retry) from exc


def guarded(action: Callable[[], T], errors: ErrorMap) -> T:
    """``action()`` (parsing, say) with the feature's errors and ``ValueError`` translated as ``run_db`` does."""
    try:
        return action()
    except _caught(errors) as exc:
        raise translated(exc, errors) from exc


def _caught(errors: ErrorMap) -> tuple[type[Exception], ...]:
    return (*errors, ValueError)


def translated(exc: Exception, errors: ErrorMap) -> GatewayError:
    for kind, answer in errors.items():
        if isinstance(exc, kind):
            return answer(str(exc))
    return RequestError(str(exc))


async def publish(svc: Services, topic: str, payload: str) -> None:
    """Announce a change after a write. The bus runs this replica's handlers before it returns (so the change
    holds here at once) and tells the other replicas; routes never reload caches themselves."""
    if svc.bus is not None:
        await svc.bus.publish(topic, payload)


def json_response(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
