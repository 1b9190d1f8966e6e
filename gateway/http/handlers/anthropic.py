"""Anthropic's Messages API (``POST /v1/messages``), served by translating to and from OpenAI chat.

Any configured model answers, whatever its provider, so the Anthropic SDK and tools built on it work through
the gateway unchanged. Errors keep Anthropic's shape, so the SDK raises its usual exception classes.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

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
from gateway.errors import GatewayError, RequestError
from gateway.http.body import read_json
from gateway.http.disconnect import ClientDisconnected, until_disconnect
from gateway.http.responses import json_bytes, sse_response
from gateway.http.services import request_context, services


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
