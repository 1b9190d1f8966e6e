"""``/admin/keys`` and ``/admin/teams``: the same operations as ``gateway keys`` / ``gateway teams``.

    POST   /admin/keys                  create: {"name", "team", "models", "budget_usd", "budget_period", "rpm",
                                        "tpm", "expires": "30d" | ISO date, "store_content"} -> 201 with "key"
    GET    /admin/keys                  list (no secrets: a display prefix only)
    GET    /admin/keys/{id_or_name}     one key
    POST   /admin/keys/{id_or_name}/revoke   (also DELETE /admin/keys/{id_or_name})
    POST   /admin/keys/{id_or_name}/rotate   a new secret, returned once as "key"; the old one stops working
    POST   /admin/teams                 create: {"name", "models", "budget_usd", "budget_period", "rpm", "tpm"}
    GET    /admin/teams                 list
    GET    /admin/teams/{id_or_name}    one team
    PATCH  /admin/teams/{id_or_name}    change the given fields; null removes a limit

A key's secret appears in exactly two answers: create and rotate. After every change this replica reloads its
key cache before answering, and the change is published on the invalidation bus, so every replica (through
Redis) refuses a revoked key within a second. Errors: unknown key/team 404, name taken 409, bad body 400.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DataError
from starlette.responses import Response

from gateway.errors import GatewayError, NotFound, RequestError
from gateway.http.body import read_json
from gateway.http.services import Services, services
from gateway.keys import store
from gateway.keys.cache import TOPIC, KeyCache
from gateway.keys.models import KeySpec, TeamSpec, TeamUpdate, key_view, printable_name, team_view

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class Conflict(GatewayError):
    status: ClassVar[int] = 409
    error_type: ClassVar[str] = "invalid_request_error"
    default_code: ClassVar[str | None] = "conflict"


def keys_router() -> APIRouter:
    router = APIRouter(tags=["keys"])
    Master = Depends(services)

    @router.post("/keys", status_code=201)
    async def create_key(request: Request, svc: Services = Master) -> Response:
        spec = await _body(request, svc, KeySpec)
        row, secret = await _write(svc, store.create_key, spec)
        team_name = (await _call(svc, store.get_key, row.id))[1]
        return _json({"key": secret, **key_view(row, team_name)}, 201)

    @router.get("/keys")
    async def list_keys(svc: Services = Master) -> Response:
        rows = await _call(svc, store.list_keys)
        return _json({"object": "list", "data": [key_view(row, team) for row, team in rows]})

    @router.get("/keys/{ref}")
    async def get_key(ref: str, svc: Services = Master) -> Response:
        row, team = await _call(svc, store.get_key, _ref(ref))
        return _json(key_view(row, team))

    @router.post("/keys/{ref}/revoke")
    @router.delete("/keys/{ref}")
    async def revoke_key(ref: str, svc: Services = Master) -> Response:
        row = await _write(svc, store.revoke_key, _ref(ref))
        return _json(key_view(row))

    @router.post("/keys/{ref}/rotate")
    async def rotate_key(ref: str, svc: Services = Master) -> Response:
        row, secret = await _write(svc, store.rotate_key, _ref(ref))
        return _json({"key": secret, **key_view(row)})

    @router.post("/teams", status_code=201)
    async def create_team(request: Request, svc: Services = Master) -> Response:
        row = await _write(svc, store.create_team, await _body(request, svc, TeamSpec))
        return _json(team_view(row), 201)

    @router.get("/teams")
    async def list_teams(svc: Services = Master) -> Response:
        return _json({"object": "list", "data": [team_view(t) for t in await _call(svc, store.list_teams)]})

    @router.get("/teams/{ref}")
    async def get_team(ref: str, svc: Services = Master) -> Response:
        wanted = _ref(ref)
        teams = await _call(svc, store.list_teams)
        found = next((t for t in teams if wanted in (t.id, t.name)), None)
        if found is None:
            raise NotFound(f"no team with id or name {ref!r}")
        return _json(team_view(found))

    @router.patch("/teams/{ref}")
    async def update_team(ref: str, request: Request, svc: Services = Master) -> Response:
        update = await _body(request, svc, TeamUpdate)
        return _json(team_view(await _write(svc, store.update_team, _ref(ref), update)))

    return router


async def _body(request: Request, svc: Services, model: type[M]) -> M:
    raw = await read_json(request, svc.config.gateway.max_body_bytes)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        raise RequestError(f"`{where}`: {first['msg']}", param=where) from exc


async def _call(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    if svc.database is None:
        raise GatewayError("this gateway has no database")
    try:
        return await asyncio.to_thread(fn, svc.database, *args)
    except store.NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    except store.ConflictError as exc:
        raise Conflict(str(exc)) from exc
    except ValueError as exc:
        raise RequestError(str(exc)) from exc
    except DataError as exc:  # a value the database cannot store; the checks above should have caught it first
        raise RequestError("A value in the request cannot be stored (out of range, or a NUL character).") from exc


def _ref(ref: str) -> str:
    """A key's or a team's id or name from the path: a NUL there would make PostgreSQL refuse the lookup."""
    try:
        return printable_name(ref)
    except ValueError as exc:
        raise RequestError(f"The id or name in the path {exc}.", param="ref") from exc


async def _write(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    """Change the store, then make every replica see it: reload here, and publish for the others."""
    result = await _call(svc, fn, *args)
    keys = svc.auth.keys
    if isinstance(keys, KeyCache):
        await keys.reload()
    if svc.bus is not None:
        await svc.bus.publish(TOPIC, "changed")
    return result


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")
