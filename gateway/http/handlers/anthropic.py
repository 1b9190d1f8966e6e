"""Anthropic's Messages API (``POST /v1/messages``), served by translating to and from OpenAI chat.

Any configured model answers, whatever its provider, so the Anthropic SDK and tools built on it work through
the gateway unchanged. Errors keep Anthropic's shape, so the SDK raises its usual exception classes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from gateway.anthropic_compat import (
    AnthropicRequestError,
    ChatToMessageStream,
    chat_to_message,
    error_to_anthropic,
    messages_to_chat,
)
from gateway.costs.tokens import TokenCounter
from gateway.errors import GatewayError, PermissionDenied, RequestError, UpstreamError
from gateway.http.body import read_json
from gateway.http.disconnect import ClientDisconnected, until_disconnect
from gateway.http.responses import json_bytes, sse_response
from gateway.http.services import Services, request_context, services
from gateway.routing.deployment import Deployment

logger = logging.getLogger("gateway.http")


async def messages(request: Request) -> Response:
    svc = services(request)
    try:
        svc.auth.authenticate(request.headers)
        body = await read_json(request, svc.config.gateway.max_body_bytes)
        try:
            chat = messages_to_chat(body)
        except AnthropicRequestError as exc:
            raise RequestError(str(exc), param=exc.param) from exc
        ctx = await request_context(svc, request, "chat", body=chat)
        ctx.client_wants_usage = True  # Anthropic's message_delta carries usage, so the translator needs it
        model = ctx.model
        if ctx.stream:
            relay = await svc.pipeline.stream(ctx)
            return sse_response(_anthropic_sse(relay, model), relay.aclose, ctx)
        result = await until_disconnect(request.receive, svc.pipeline.complete(ctx))
    except ClientDisconnected:
        return Response(status_code=499)
    except GatewayError as exc:
        return _error(exc)
    return json_bytes(orjson.dumps(chat_to_message(orjson.loads(result), model)), ctx)


async def count_tokens(request: Request) -> Response:
    """``POST /v1/messages/count_tokens``: the provider's count where it has one (Anthropic), else a local one
    (tiktoken, as the gateway counts usage a provider did not report); ``x-gateway-token-count`` says which."""
    svc = services(request)
    try:
        principal = svc.auth.authenticate(request.headers)
        body = await read_json(request, svc.config.gateway.max_body_bytes)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise RequestError("model: Field required", param="model")
        router = svc.pipeline.router
        router.require(model)
        if not principal.may_use(model):
            raise PermissionDenied(f"This key may not use the model `{model}`.", param="model")
        counted, source = await _count(svc, router.deployments(model), body)
    except GatewayError as exc:
        return _error(exc)
    return Response(
        orjson.dumps({"input_tokens": counted}), media_type="application/json",
        headers={"x-gateway-token-count": source},
    )


async def _count(svc: Services, deployments: Sequence[Deployment], body: dict[str, Any]) -> tuple[int, str]:
    try:
        chat = messages_to_chat({**body, "max_tokens": 1})  # the count needs no max_tokens; the translation does
    except AnthropicRequestError as exc:
        raise RequestError(str(exc), param=exc.param) from exc
    for deployment in deployments:
        if deployment.count_tokens is not None:
            try:
                return await deployment.count_tokens({**body, "model": deployment.upstream_model}), "provider"
            except UpstreamError as exc:  # the local count still answers
                logger.info("token count by %s failed (%s); counting locally", deployment.id, exc.message)
    model = deployments[0].upstream_model if deployments else str(body.get("model"))
    return await asyncio.to_thread(_local_count, svc.tokens, model, chat), "local"


def _local_count(tokens: TokenCounter, model: str, chat: dict[str, Any]) -> int:
    counted = tokens.prompt_tokens(model, "chat", chat)
    if chat.get("tools"):
        counted += tokens.text_tokens(model, orjson.dumps(chat["tools"]).decode())
    return counted


def _error(exc: GatewayError) -> Response:
    return Response(
        orjson.dumps(error_to_anthropic(exc.status, exc.to_dict())),
        status_code=exc.status,
        media_type="application/json",
        headers=exc.headers,
    )


async def _anthropic_sse(batches: AsyncIterable[list[bytes]], model: str) -> AsyncIterator[bytes]:
    translator = ChatToMessageStream(model)
    try:
        async for batch in batches:
            events = b"".join([translator.feed(orjson.loads(payload)) for payload in batch])
            if events:
                yield events
    except GatewayError as exc:
        yield translator.error_event(exc.status, exc.to_dict())
        return
    yield translator.finish()
