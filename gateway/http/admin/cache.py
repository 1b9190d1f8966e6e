"""``/admin/cache``: what the response cache holds, and deleting from it.

    GET    /admin/cache                                  what this replica's cache holds (entries, backend)
    DELETE /admin/cache[?namespace=..][&prompt=..]       every entry, or those of a namespace and/or a prompt

A delete is announced on the change bus (topic ``cache``): every replica drops the matching entries it holds in
memory, and the shared ones in Redis. Neither route is on the hot path.
"""

from __future__ import annotations

import orjson
from fastapi import APIRouter
from starlette.responses import Response

from gateway.bus import CACHE
from gateway.cache.stage import CacheStage
from gateway.errors import NotFound
from gateway.http.admin.common import AdminRoute, GatewayServices, Text, json_response, publish
from gateway.http.services import Services

router = APIRouter(prefix="/cache", tags=["cache"], route_class=AdminRoute)


@router.get("")
async def cache_stats(svc: GatewayServices) -> Response:
    return json_response(await _stage(svc).stats())


@router.delete("")
async def clear_cache(svc: GatewayServices, namespace: Text | None = None, prompt: Text | None = None) -> Response:
    stage = _stage(svc)
    selector = {"namespace": namespace, "prompt": prompt}
    before = (await stage.stats()).get("entries", 0)
    await publish(svc, CACHE, orjson.dumps(selector).decode())
    after = (await stage.stats()).get("entries", 0)
    return json_response({"cleared": True, **selector, "entries_before": before, "entries_after": after})


def _stage(svc: Services) -> CacheStage:
    for stage in svc.pipeline.stages:
        if isinstance(stage, CacheStage):
            return stage
    raise NotFound("This gateway has no cache stage.")
