"""The one interface every provider implements.

A provider turns an OpenAI-shaped request into a call to one upstream and gives back OpenAI-shaped bytes.

Contract:

* ``complete(request)`` returns the whole response body as JSON bytes in OpenAI's shape for the endpoint
  (``chat.completion``, ``text_completion``, an embedding ``list`` or a Responses ``response``).
* ``stream(request)`` returns once the upstream has accepted the stream, so that a failure before the first
  byte can still be retried elsewhere. Iterating the result yields batches: the SSE ``data:`` payloads (each
  one JSON chunk in OpenAI's shape, as bytes) that arrived together, never an empty batch, without the
  ``[DONE]`` terminator (a Responses stream's payloads are its typed events, and it has no terminator);
  batches let the gateway relay what arrived in one write instead of one per event.
  ``aclose()`` releases the upstream connection and is safe to call twice; a client that goes away leads to
  ``aclose()`` and so to the upstream call's end.
* Every failure, before or during a stream, is raised as an ``UpstreamError`` subclass (see ``gateway.errors``),
  translated from the transport's or SDK's own exception with ``raise ... from exc``. Nothing else escapes.
* ``request.body["model"]`` is already the upstream's model name; the provider must not retry on its own (the
  router owns retries, fallbacks and cooldown).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

Endpoint = Literal["chat", "completions", "embeddings", "responses"]


@dataclass(slots=True)
class UpstreamRequest:
    endpoint: Endpoint
    body: dict[str, Any]
    timeout: float
    headers: Mapping[str, str] | None = None  # per request (a trace's traceparent), beside the deployment's own


@dataclass(slots=True)
class UpstreamResponse:
    body: bytes


class UpstreamStream(Protocol):
    def __aiter__(self) -> AsyncIterator[list[bytes]]: ...

    async def aclose(self) -> None: ...


class Provider(Protocol):
    async def complete(self, request: UpstreamRequest) -> UpstreamResponse: ...

    async def stream(self, request: UpstreamRequest) -> UpstreamStream: ...

    async def aclose(self) -> None: ...
