"""OpenAI's endpoints: chat completions, completions, embeddings and models."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import GatewayError, PermissionDenied, RequestError
from gateway.http.body import require_list
from gateway.http.disconnect import ClientDisconnected, until_disconnect
from gateway.http.responses import error_response, json_bytes, sse_response
from gateway.http.services import Services, request_context, services
from gateway.pipeline.context import RequestContext
from gateway.prompts.reference import references_prompt

DONE = b"data: [DONE]\n\n"


async def chat_completions(request: Request) -> Response:
    svc = services(request)
    ctx = await request_context(svc, request, "chat")
    if not references_prompt(ctx.body):  # a prompt brings its own messages; the prompts stage checks the rest
        require_list(ctx.body, "messages")
    return await _respond(svc, request, ctx)


async def completions(request: Request) -> Response:
    svc = services(request)
    ctx = await request_context(svc, request, "completions")
    if "prompt" not in ctx.body and not references_prompt(ctx.body):
        raise RequestError("`prompt` is required.", param="prompt")
    return await _respond(svc, request, ctx)


async def embeddings(request: Request) -> Response:
    svc = services(request)
    ctx = await request_context(svc, request, "embeddings")
    if "input" not in ctx.body:
        raise RequestError("`input` is required.", param="input")
    if ctx.stream:
        raise RequestError("Embeddings cannot be streamed.", param="stream")
    return await _respond(svc, request, ctx)


async def list_models(request: Request) -> Response:
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    data = [_model_card(svc, name) for name in svc.pipeline.router.model_names if principal.may_use(name)]
    return json_bytes(orjson.dumps({"object": "list", "data": data}))


async def get_model(request: Request) -> Response:
    svc = services(request)
    principal = svc.auth.authenticate(request.headers)
    name = request.path_params["model_id"]
    svc.pipeline.router.require(name)
    if not principal.may_use(name):
        raise PermissionDenied(f"This key may not use the model `{name}`.", param="model", code="model_not_allowed")
    return json_bytes(orjson.dumps(_model_card(svc, name)))


def _model_card(svc: Services, name: str) -> dict[str, object]:
    return {"id": name, "object": "model", "created": svc.started_at, "owned_by": "gateway"}


async def _respond(svc: Services, request: Request, ctx: RequestContext) -> Response:
    try:
        if ctx.stream:
            relay = await svc.pipeline.stream(ctx)
            return sse_response(_openai_sse(relay), relay.aclose, ctx)
        body = await until_disconnect(request.receive, svc.pipeline.complete(ctx))
    except ClientDisconnected:
        return Response(status_code=499)
    except GatewayError as exc:
        return error_response(exc, ctx)
    return json_bytes(body, ctx)


async def _openai_sse(batches: AsyncIterable[list[bytes]]) -> AsyncIterator[bytes]:
    """Relay chunk payloads as SSE. A failure midway ends the stream with an error event, never a hang."""
    try:
        async for batch in batches:
            yield b"".join([b"data: " + payload + b"\n\n" for payload in batch])
    except GatewayError as exc:
        yield b"data: " + orjson.dumps(exc.to_dict()) + b"\n\n"
        return
    yield DONE
