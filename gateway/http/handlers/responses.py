"""OpenAI's Responses API: ``POST /v1/responses`` and the stored responses behind ``GET``/``DELETE``.

A request goes through the same pipeline as chat (endpoint ``responses``): OpenAI deployments get it passed
through, every other model gets it translated to chat and back (``gateway.providers.responses_bridge``). The
gateway keeps the conversation state itself (``gateway.responses_state``), so ``previous_response_id`` works for
every model. A stream is relayed as the API's typed SSE events (``event: <type>`` then ``data: <json>``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import GatewayError, RequestError
from gateway.http.body import read_json
from gateway.http.disconnect import ClientDisconnected, until_disconnect
from gateway.http.responses import error_response, json_bytes, sse_response
from gateway.http.services import Services, request_context, services
from gateway.pipeline.context import RequestContext
from gateway.prompts.reference import references_prompt
from gateway.responses_compat import ResponsesRequestError, input_items
from gateway.responses_state import ResponseStore

logger = logging.getLogger("gateway.http")
_ENDS = frozenset({b"response.completed", b"response.incomplete", b"response.failed"})
_CARRY_RESPONSE = _ENDS | {b"response.created", b"response.in_progress", b"response.queued"}


async def create(request: Request) -> Response:
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    body = await read_json(request, svc.config.gateway.max_body_bytes)
    _check(body)
    store = svc.responses
    previous = body.get("previous_response_id") if store is not None else None
    if store is not None:
        body = await store.expand(principal.key_id or "", body)
    # The upstream got the conversation as input, so the answer names the previous response itself.
    chained = previous if isinstance(previous, str) and "previous_response_id" not in body else None
    ctx = await request_context(svc, request, "responses", body=body)
    ctx.client_wants_usage = True  # a Responses answer always carries its usage
    try:
        if ctx.stream:
            relay = await svc.pipeline.stream(ctx)
            return sse_response(_events(relay, svc, ctx, chained), relay.aclose, ctx)
        result = await until_disconnect(request.receive, svc.pipeline.complete(ctx))
    except ClientDisconnected:
        return Response(status_code=499)
    except GatewayError as exc:
        return error_response(exc, ctx)
    response = orjson.loads(result)
    if chained is not None and isinstance(response, dict):
        response["previous_response_id"] = chained
        result = orjson.dumps(response)
    await _keep(svc, ctx, response)
    return json_bytes(result, ctx)


async def retrieve(request: Request) -> Response:
    store, owner = _store(request)
    stored = await store.require(owner, request.path_params["response_id"])
    return json_bytes(orjson.dumps(stored.response))


async def delete(request: Request) -> Response:
    store, owner = _store(request)
    response_id = request.path_params["response_id"]
    await store.delete(owner, response_id)
    return json_bytes(orjson.dumps({"id": response_id, "object": "response", "deleted": True}))


async def list_input_items(request: Request) -> Response:
    store, owner = _store(request)
    stored = await store.require(owner, request.path_params["response_id"])
    items = list(stored.items)
    if request.query_params.get("order", "desc") == "desc":
        items.reverse()
    after = request.query_params.get("after")
    if after:
        ids = [item.get("id") for item in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    limit = _limit(request.query_params.get("limit"))
    page = items[:limit]
    return json_bytes(orjson.dumps({
        "object": "list",
        "data": page,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(items) > limit,
    }))


def _check(body: dict[str, Any]) -> None:
    if references_prompt(body):
        return  # the prompts stage fills in the input
    if body.get("input") is None and not body.get("previous_response_id"):
        raise RequestError("`input` is required.", param="input")
    try:
        input_items(body)
    except ResponsesRequestError as exc:
        raise RequestError(exc.message, param=exc.param) from exc


def _store(request: Request) -> tuple[ResponseStore, str]:
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    if svc.responses is None:
        raise RequestError("This gateway does not store responses (gateway.responses_store is false).",
                           param="response_id")
    return svc.responses, principal.key_id or ""


def _limit(raw: str | None) -> int:
    try:
        return max(1, min(100, int(raw))) if raw else 20
    except ValueError as exc:
        raise RequestError("`limit` must be an integer between 1 and 100.", param="limit") from exc


async def _keep(svc: Services, ctx: RequestContext, response: Any) -> None:
    """Store a finished response for ``previous_response_id`` and ``GET``, unless the client said ``store: false``."""
    if svc.responses is None or ctx.body.get("store") is False or not isinstance(response, dict):
        return
    if not isinstance(response.get("id"), str):
        return
    try:
        await svc.responses.save(ctx.principal.key_id or "", ctx.model, input_items(ctx.body), response)
    except Exception as exc:  # the database failed: the client still gets its answer, which it has
        logger.warning("request %s: its response was not stored (%s)", ctx.request_id, type(exc).__name__)


async def _events(
    batches: AsyncIterable[list[bytes]], svc: Services, ctx: RequestContext, chained: str | None
) -> AsyncIterator[bytes]:
    """Relay event payloads as SSE with their ``event:`` names; the last one is stored before it goes out, so a
    follow-up with ``previous_response_id`` finds it. A failure midway ends the stream with an ``error`` event.
    ``chained``: the previous response the gateway expanded, named in every event that carries the response."""
    sequence = 0
    try:
        async for batch in batches:
            out: list[bytes] = []
            for payload in batch:
                kind = _event_type(payload)
                if chained is not None and kind in _CARRY_RESPONSE:
                    payload = _chain(payload, chained)
                if kind in _ENDS:
                    await _keep(svc, ctx, orjson.loads(payload).get("response"))
                out.append(b"event: " + kind + b"\ndata: " + payload + b"\n\n")
            sequence += len(batch)
            yield b"".join(out)
    except GatewayError as exc:
        error = exc.to_dict()["error"]
        # The event's own fields, and the error object as well: the openai SDK raises only on an `error` object.
        event = {"type": "error", "code": error.get("code"), "message": error.get("message"),
                 "param": error.get("param"), "sequence_number": sequence, "error": error}
        yield b"event: error\ndata: " + orjson.dumps(event) + b"\n\n"


def _chain(payload: bytes, previous: str) -> bytes:
    event = orjson.loads(payload)
    if isinstance(event, dict) and isinstance(event.get("response"), dict):
        event["response"]["previous_response_id"] = previous
        return orjson.dumps(event)
    return payload


def _event_type(payload: bytes) -> bytes:
    """The event's ``type``, read without parsing when it comes first (as the gateway and OpenAI write it)."""
    if payload.startswith(b'{"type":"'):
        end = payload.find(b'"', 9)
        if end > 0:
            return payload[9:end]
    try:
        event = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return b"message"
    kind = event.get("type") if isinstance(event, dict) else None
    return kind.encode() if isinstance(kind, str) else b"message"
