"""Serve ``POST /v1/responses`` from a provider that only speaks chat completions.

``ResponsesOverChat(provider, label, native=...)`` wraps a deployment's provider (``routing.build`` wraps every
one): a request for the ``responses`` endpoint is translated to chat (``gateway.responses_compat``), sent as a chat
request, and its answer, whole or streamed, translated back; every other endpoint goes to the wrapped provider
unchanged. A ``native`` provider (``ProviderEntry.speaks_responses``: OpenAI) gets the Responses request itself,
passed through; if it answers 404 (an OpenAI-compatible server without that endpoint behind ``openai/``), the
deployment switches to translation for good.

The gateway's own translation was chosen over litellm's Responses bridge because it serves every deployment the
same way, fast-path ones included (vLLM, Ollama, Groq...), without importing litellm, and because it measured
cheaper per request (docs/endpoints.md, "How non-OpenAI models answer").
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson

from gateway.errors import UpstreamBadRequest, UpstreamError
from gateway.providers.base import Provider, UpstreamRequest, UpstreamResponse, UpstreamStream
from gateway.responses_compat import ChatToResponseStream, ResponsesRequestError, chat_to_response, new_id
from gateway.responses_compat import responses_to_chat as _to_chat

logger = logging.getLogger("gateway.providers")


class ResponsesOverChat:
    def __init__(self, provider: Provider, label: str, *, native: bool) -> None:
        self.inner = provider
        self.native = native
        self._label = label

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        if request.endpoint != "responses":
            return await self.inner.complete(request)
        if self.native:
            try:
                return await self.inner.complete(request)
            except UpstreamBadRequest as exc:
                self._unless_missing(exc)
        chat = await self.inner.complete(self._chat_request(request))
        try:
            parsed: Any = orjson.loads(chat.body)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(f"{self._label} sent a body that is not JSON") from exc
        answer = chat_to_response(parsed if isinstance(parsed, dict) else {}, request.body, new_id("resp"))
        return UpstreamResponse(orjson.dumps(answer))

    async def stream(self, request: UpstreamRequest) -> UpstreamStream:
        if request.endpoint != "responses":
            return await self.inner.stream(request)
        if self.native:
            try:
                return await self.inner.stream(request)
            except UpstreamBadRequest as exc:
                self._unless_missing(exc)
        upstream = await self.inner.stream(self._chat_request(request))
        return ResponseEvents(upstream, ChatToResponseStream(request.body, new_id("resp"), request.body["model"]))

    def _unless_missing(self, exc: UpstreamBadRequest) -> None:
        """Re-raise ``exc`` unless it says the upstream has no Responses endpoint; then translate from now on."""
        if exc.upstream_status != 404 or exc.param is not None:
            raise exc
        self.native = False
        logger.warning("%s has no /responses endpoint (404); translating Responses requests to chat", self._label)

    def _chat_request(self, request: UpstreamRequest) -> UpstreamRequest:
        previous = request.body.get("previous_response_id")
        if previous:
            # The gateway expands the responses it stored; this one it does not know, and a chat upstream cannot.
            raise UpstreamBadRequest(
                f"Previous response with id '{previous}' not found.", param="previous_response_id"
            )
        try:
            chat = _to_chat(request.body)
        except ResponsesRequestError as exc:
            raise UpstreamBadRequest(exc.message, param=exc.param) from exc
        return UpstreamRequest(endpoint="chat", body=chat, timeout=request.timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()


class ResponseEvents:
    """A chat stream, relayed as Responses events: same batching, the closing events once the upstream ends."""

    def __init__(self, upstream: UpstreamStream, translator: ChatToResponseStream) -> None:
        self._upstream = upstream
        self._translator = translator
        self._iterator: AsyncIterator[list[bytes]] | None = None

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def _events(self) -> AsyncIterator[list[bytes]]:
        translator = self._translator
        async for batch in self._upstream:
            events: list[bytes] = []
            for payload in batch:
                chunk = orjson.loads(payload)
                if isinstance(chunk, dict):
                    events += translator.feed(chunk)
            if events:
                yield events
        yield translator.finish()

    async def aclose(self) -> None:
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            await iterator.aclose()  # type: ignore[attr-defined]
        await self._upstream.aclose()
