"""``/admin/keys`` and ``/admin/teams``: the same operations as ``gateway keys`` / ``gateway teams``.

    POST   /admin/keys                  create: a ``KeySpec`` -> 201 with the secret in "key"
    GET    /admin/keys                  list (no secrets: a display prefix only)
    GET    /admin/keys/{id_or_name}     one key
    POST   /admin/keys/{id_or_name}/revoke   (also DELETE /admin/keys/{id_or_name})
    POST   /admin/keys/{id_or_name}/rotate   a new secret, returned once as "key"; the old one stops working
    POST   /admin/teams                 create: a ``TeamSpec``
    GET    /admin/teams                 list
    GET    /admin/teams/{id_or_name}    one team
    PATCH  /admin/teams/{id_or_name}    a ``TeamUpdate``: change the given fields; null removes a limit

A key's secret appears in exactly two answers: create and rotate. Every change is published on the change bus
before the answer, so this replica holds it at once and every other one (through Redis) within a second.
Errors: unknown key/team 404, name taken 409 (``conflict``), bad body 400, no database 503.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter
from starlette.responses import Response

from gateway.errors import Conflict, NotFound
from gateway.http.admin.common import AdminRoute, ErrorMap, GatewayServices, Text, json_response, publish, run_db
from gateway.http.services import Services
from gateway.keys import store
from gateway.keys.cache import TOPIC
from gateway.keys.models import KeySpec, TeamSpec, TeamUpdate, key_view, team_view

T = TypeVar("T")
STORE_ERRORS: ErrorMap = {store.NotFoundError: NotFound, store.ConflictError: Conflict}

router = APIRouter(tags=["keys"], route_class=AdminRoute)


@router.post("/keys", status_code=201)
async def create_key(spec: KeySpec, svc: GatewayServices) -> Response:
    row, secret = await _write(svc, store.create_key, spec)
    team_name = (await run_db(svc, store.get_key, row.id, errors=STORE_ERRORS))[1]
    return json_response({"key": secret, **key_view(row, team_name)}, 201)


@router.get("/keys")
async def list_keys(svc: GatewayServices) -> Response:
    rows = await run_db(svc, store.list_keys, errors=STORE_ERRORS)
    return json_response({"object": "list", "data": [key_view(row, team) for row, team in rows]})


@router.get("/keys/{ref}")
async def get_key(ref: Text, svc: GatewayServices) -> Response:
    row, team = await run_db(svc, store.get_key, ref, errors=STORE_ERRORS)
    return json_response(key_view(row, team))


@router.post("/keys/{ref}/revoke")
@router.delete("/keys/{ref}")
async def revoke_key(ref: Text, svc: GatewayServices) -> Response:
    return json_response(key_view(await _write(svc, store.revoke_key, ref)))


@router.post("/keys/{ref}/rotate")
async def rotate_key(ref: Text, svc: GatewayServices) -> Response:
    row, secret = await _write(svc, store.rotate_key, ref)
    return json_response({"key": secret, **key_view(row)})


@router.post("/teams", status_code=201)
async def create_team(spec: TeamSpec, svc: GatewayServices) -> Response:
    return json_response(team_view(await _write(svc, store.create_team, spec)), 201)


@router.get("/teams")
async def list_teams(svc: GatewayServices) -> Response:
    teams = await run_db(svc, store.list_teams, errors=STORE_ERRORS)
    return json_response({"object": "list", "data": [team_view(team) for team in teams]})


@router.get("/teams/{ref}")
async def get_team(ref: Text, svc: GatewayServices) -> Response:
    teams = await run_db(svc, store.list_teams, errors=STORE_ERRORS)
    found = next((team for team in teams if ref in (team.id, team.name)), None)
    if found is None:
        raise NotFound(f"no team with id or name {ref!r}")
    return json_response(team_view(found))


@router.patch("/teams/{ref}")
async def update_team(ref: Text, update: TeamUpdate, svc: GatewayServices) -> Response:
    return json_response(team_view(await _write(svc, store.update_team, ref, update)))


async def _write(svc: Services, fn: Callable[..., T], *args: Any) -> T:
    """Change the store, then announce it: every replica's key cache, this one's included, reloads."""
    result = await run_db(svc, fn, *args, errors=STORE_ERRORS)
    await publish(svc, TOPIC, "changed")
    return result
