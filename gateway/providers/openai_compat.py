"""The fast path: any OpenAI-compatible upstream (OpenAI, vLLM, Ollama, llama.cpp, Groq, ...).

Bodies go out as JSON and come back as bytes that are relayed untouched; nothing here imports litellm. All
deployments share one pooled ``aiohttp.ClientSession`` that the app creates at start-up and passes in
(aiohttp costs about an eighth of httpx's CPU per request under concurrency; see docs/architecture.md, "Why aiohttp").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import aiohttp
import orjson

from gateway.errors import UpstreamConnectionError, UpstreamError, UpstreamTimeout, upstream_error_for_status
from gateway.providers.base import Endpoint, UpstreamRequest, UpstreamResponse
from gateway.providers.messages import MAX_MESSAGE, clean_message

PATHS: Mapping[Endpoint, str] = {
    "chat": "/chat/completions",
    "completions": "/completions",
    "embeddings": "/embeddings",
    "responses": "/responses",
}
#: The events that end a Responses stream, which has no ``[DONE]``.
_RESPONSES_END = frozenset({"response.completed", "response.incomplete", "response.failed"})


class OpenAICompatProvider:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        api_base: str,
        api_key: str | None,
        label: str,
        organization: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        self._session = session
        self._label = label
        base = api_base.rstrip("/")
        self._urls = {endpoint: base + path for endpoint, path in PATHS.items()}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        if organization:
            headers["OpenAI-Organization"] = organization
        headers.update(extra_headers or {})
        self._headers = headers
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    def _timeout(self, seconds: float, streaming: bool) -> aiohttp.ClientTimeout:
        key = -seconds if streaming else seconds
        timeout = self._timeouts.get(key)
        if timeout is None:
            # A stream may run for long; what must not exceed the limit is the wait for each piece of it.
            timeout = (
                aiohttp.ClientTimeout(total=None, sock_connect=seconds, sock_read=seconds)
                if streaming
                else aiohttp.ClientTimeout(total=seconds)
            )
            self._timeouts[key] = timeout
        return timeout

    def _headers_for(self, request: UpstreamRequest) -> Mapping[str, str]:
        # The deployment's headers are built once; a copy only for a request that brings its own (a traceparent).
        return self._headers if request.headers is None else {**self._headers, **request.headers}

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        try:
            async with self._session.post(
                self._urls[request.endpoint],
                data=orjson.dumps(request.body),
                headers=self._headers_for(request),
                timeout=self._timeout(request.timeout, streaming=False),
            ) as response:
                body = await response.read()
                if response.status >= 400:
                    raise _status_error(response.status, body, response.headers, self._label)
                return UpstreamResponse(body)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._label} did not answer within {request.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"{self._label}: {_describe(exc)}") from exc

    async def stream(self, request: UpstreamRequest) -> SSEStream:
        try:
            response = await self._session.post(
                self._urls[request.endpoint],
                data=orjson.dumps(request.body),
                headers=self._headers_for(request),
                timeout=self._timeout(request.timeout, streaming=True),
            )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._label} did not answer within {request.timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"{self._label}: {_describe(exc)}") from exc
        if response.status >= 400:
            try:
                body = await response.read()
            except (aiohttp.ClientError, TimeoutError):
                body = b""
            finally:
                response.release()
            raise _status_error(response.status, body, response.headers, self._label)
        return SSEStream(response, self._label, request.timeout, responses=request.endpoint == "responses")

    async def aclose(self) -> None:
        """The shared session belongs to the app, which closes it."""


class SSEStream:
    """Yields the ``data:`` payloads of an upstream SSE body until ``[DONE]``.

    An upstream that ends without ``[DONE]`` (for a Responses stream: without its closing event) was cut
    midway; that is raised, so the client gets an error event rather than a stream that looks complete.
    """

    def __init__(
        self, response: aiohttp.ClientResponse, label: str, timeout: float, *, responses: bool = False
    ) -> None:
        self._response = response
        self._label = label
        self._timeout = timeout
        self._responses = responses
        self._last = b""
        self._iterator: AsyncIterator[list[bytes]] | None = None

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        if self._iterator is None:
            self._iterator = self._batches()
        return self._iterator

    async def _batches(self) -> AsyncIterator[list[bytes]]:
        pending = b""
        try:
            # Whatever has arrived, split in C, rather than one readline() per line: a provider (or a fast one
            # like the fake) often sends several events in one packet, and they go on together.
            async for data in self._response.content.iter_any():
                lines = (pending + data).split(b"\n") if pending else data.split(b"\n")
                pending = lines.pop()
                batch, done = _data_payloads(lines)
                if batch:
                    self._last = batch[-1]
                    yield batch
                if done:
                    return
            tail, done = _data_payloads([pending])
            if tail and self._responses:  # the closing event may lack its newline
                self._last = tail[-1]
                yield tail
            if done or self._ended_responses():
                return
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._label} stopped sending for {self._timeout:g} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"{self._label}: stream cut midway ({_describe(exc)})") from exc
        finally:
            self._response.release()
        raise UpstreamConnectionError(f"{self._label}: stream ended before [DONE]")

    def _ended_responses(self) -> bool:
        """Whether a Responses stream's last event was one that ends it (read once, at EOF)."""
        if not self._responses or not self._last:
            return False
        try:
            event = orjson.loads(self._last)
        except orjson.JSONDecodeError:
            return False
        return isinstance(event, dict) and event.get("type") in _RESPONSES_END

    async def aclose(self) -> None:
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            await iterator.aclose()  # type: ignore[attr-defined]
        # close(), not release(): a half-read body must not go back into the pool.
        if not self._response.closed:
            self._response.close()


def _data_payloads(lines: list[bytes]) -> tuple[list[bytes], bool]:
    """The ``data:`` payloads among SSE lines, and whether ``[DONE]`` was among them."""
    payloads: list[bytes] = []
    for line in lines:
        if line.startswith(b"data:"):
            payload = line[5:].strip()
            if payload == b"[DONE]":
                return payloads, True
            if payload:
                payloads.append(payload)
    return payloads, False


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _status_error(status: int, body: bytes, headers: Mapping[str, str], label: str) -> UpstreamError:
    message, param = _error_message(body)
    return upstream_error_for_status(
        status,
        f"{label} answered {status}: {message}",
        retry_after=_retry_after(headers),
        param=param,
    )


def _error_message(body: bytes) -> tuple[str, str | None]:
    """The provider's message from an error body, cleaned (no traceback, bounded; see ``messages``)."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return clean_message(body[: MAX_MESSAGE * 4].decode("utf-8", "replace")) if body else "no body", None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(error, dict):
        param = error.get("param")
        return clean_message(str(error.get("message") or error)), param[:200] if isinstance(param, str) else None
    if isinstance(error, str):
        return clean_message(error), None
    return clean_message(str(parsed)), None


def _retry_after(headers: Mapping[str, str]) -> float | None:
    raw = headers.get("Retry-After") or headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


__all__ = ["OpenAICompatProvider", "SSEStream"]
