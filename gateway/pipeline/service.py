"""The pipeline, in order, for one request. The HTTP handlers call ``complete`` or ``stream`` and nothing else.

    stages' before, in list order (today: prompt -> limits -> cache -> cost)
    -> route + call (retries, fallbacks, cooldown), or a stage's answer (a ``before`` that returns a body)
    -> the answer through the stages' ``answer`` (a whole body) or ``stream_filter`` (a stream), in reverse
    -> usage, and the answer kept on the context (``response_body``, or a stream's ``response_text``)
    -> stages' after, in reverse (cost prices it, limits settle the real tokens and cost) -> one record

Stages are small units with one job each (see ``stages.py``); their order is ``stage_classes()`` in
``gateway.wiring``. A stream's ``after`` and record come when the stream ends (``Relay.aclose``), after its last
byte went out. Every request, whether it succeeds, fails, is refused, is answered by a stage or is cut, leaves
exactly one record. Telemetry watches through one optional ``Observer`` (``observer.py``), not as a stage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson

from gateway.errors import ClientTimeout, GatewayError, UpstreamError, UpstreamTimeout
from gateway.pipeline.context import RequestContext
from gateway.pipeline.observer import Observer
from gateway.pipeline.records import RecordSink, RequestRecord
from gateway.pipeline.stages import Stage, StreamFilter
from gateway.pipeline.usage import Usage
from gateway.providers.base import UpstreamRequest, UpstreamStream
from gateway.providers.fields import apply_defaults
from gateway.routing.deployment import Deployment
from gateway.routing.router import Router

logger = logging.getLogger("gateway.pipeline")


class Pipeline:
    def __init__(
        self, router: Router, sink: RecordSink, stages: Sequence[Stage] = (), observer: Observer | None = None
    ) -> None:
        self.router = router
        self.sink = sink
        self.stages = list(stages)
        self.observer = observer  # telemetry (traces, metrics); None when both are off

    async def complete(self, ctx: RequestContext) -> bytes:
        """Run a non-streaming request; returns the OpenAI-shaped response body."""
        holding: list[Deployment] = []  # the deployment that has the request while the client waits for it
        if self.observer is not None:
            self.observer.started(ctx)
        try:
            cached, ran = await self._before(ctx)
            if cached is not None:
                ctx.response_body = cached = await self._answer(ctx, cached, ran)
                return cached

            async def call(deployment: Deployment) -> bytes:
                upstream = self._upstream_request(ctx, deployment)
                started = time.perf_counter()
                holding[:] = [deployment]
                try:
                    return (await deployment.provider.complete(upstream)).body
                except UpstreamTimeout as exc:
                    holding.clear()
                    raise _blame(ctx, deployment, exc) from exc
                except Exception:
                    holding.clear()
                    raise
                finally:
                    ctx.upstream_seconds += time.perf_counter() - started

            traced = call if ctx.trace is None else self._observed(ctx).attempts(ctx, call)
            body, attempted = await self.router.call(ctx.model, traced, ctx.principal.may_use, ctx.tags)
            ctx.deployment, ctx.attempts = attempted.deployment, attempted.attempts
            ctx.usage = _usage_of(body)
            ctx.response_body = body = await self._answer(ctx, body, ran)  # a reference, not a copy
            return body
        except GatewayError as exc:
            ctx.fail(exc)
            raise
        except asyncio.CancelledError:
            ctx.status = 499  # the client went away; the upstream call was cancelled with it
            if holding and ctx.deployment is None:
                # The upstream had the request and bills it: the cost stage estimates it, the limits charge it.
                ctx.deployment, ctx.upstream_cancelled = holding[0], True
            raise
        except Exception as exc:  # a bug: still recorded, as the 500 the client gets
            ctx.fail(GatewayError(f"internal error: {type(exc).__name__}"))
            raise
        finally:
            await self._finish(ctx)

    async def stream(self, ctx: RequestContext) -> Relay:
        """Open a stream; returns an iterator of chunk payloads (JSON bytes, OpenAI chunk shape).

        Failures before the upstream accepts the stream are raised here, so the client still gets a plain error
        response with the right status. Failures during the stream are raised by the iterator.
        """
        holding: list[Deployment] = []  # the deployment that has the request while the stream opens
        if self.observer is not None:
            self.observer.started(ctx)
        try:
            cached, ran = await self._before(ctx)
            filters = [f for stage in reversed(self.stages[:ran]) if (f := stage.stream_filter(ctx)) is not None]
            if cached is not None:
                return Relay(self, ctx, CachedStream(cached), filters)

            async def open_stream(deployment: Deployment) -> UpstreamStream:
                holding[:] = [deployment]
                try:
                    return await deployment.provider.stream(self._upstream_request(ctx, deployment))
                except UpstreamTimeout as exc:
                    holding.clear()
                    raise _blame(ctx, deployment, exc) from exc
                except Exception:
                    holding.clear()
                    raise

            traced = open_stream if ctx.trace is None else self._observed(ctx).attempts(ctx, open_stream)
            started = time.perf_counter()
            upstream, attempted = await self.router.call(ctx.model, traced, ctx.principal.may_use, ctx.tags)
            ctx.upstream_seconds += time.perf_counter() - started
            ctx.deployment, ctx.attempts = attempted.deployment, attempted.attempts
        except GatewayError as exc:
            ctx.fail(exc)
            await self._finish(ctx)
            raise
        except BaseException:
            ctx.status = 499
            if holding and ctx.deployment is None:  # the upstream had the request: it bills it (see `complete`)
                ctx.deployment, ctx.upstream_cancelled = holding[0], True
            await self._finish(ctx)
            raise
        return Relay(self, ctx, upstream, filters)

    async def _before(self, ctx: RequestContext) -> tuple[bytes | None, int]:
        """Every stage's ``before``; returns a stage's own answer (or None) and how many stages come before the
        answer: all of them for an upstream's, those before the answering stage for a stage's."""
        for ran, stage in enumerate(self.stages):
            if ctx.trace is None:
                answer = await stage.before(ctx)
            else:
                with self._observed(ctx).stage(ctx, stage.name):
                    answer = await stage.before(ctx)
            if answer is not None:
                return answer, ran
        self.router.require(ctx.model)
        return None, len(self.stages)

    async def _answer(self, ctx: RequestContext, body: bytes, ran: int) -> bytes:
        for stage in reversed(self.stages[:ran]):
            body = await stage.answer(ctx, body)
        return body

    def _upstream_request(self, ctx: RequestContext, deployment: Deployment) -> UpstreamRequest:
        body = dict(ctx.body)
        body["model"] = deployment.upstream_model
        if deployment.defaults:
            apply_defaults(body, ctx.endpoint, deployment.defaults)
        if ctx.stream and ctx.endpoint in ("chat", "completions"):
            # Ask for usage even when the client did not, so every stream is costed; the extra chunk is
            # filtered out in _relay for clients that did not ask.
            options = body.get("stream_options")
            body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        timeout = ctx.timeout or (deployment.stream_timeout if ctx.stream else deployment.timeout)
        return UpstreamRequest(endpoint=ctx.endpoint, body=body, timeout=timeout, headers=ctx.upstream_headers)

    async def _finish(self, ctx: RequestContext) -> None:
        if ctx.finished is not None:
            return  # recorded already: exactly one record per request
        ctx.finished = time.perf_counter()
        for stage in reversed(self.stages):
            try:
                await stage.after(ctx)
            except Exception:  # a stage's bug must not lose the record or the answer
                logger.exception("stage %s failed after request %s", stage.name, ctx.request_id)
        record = RequestRecord.from_context(ctx)
        self.sink.emit(record)
        if self.observer is not None:
            self.observer.finished(ctx, record)

    def _observed(self, ctx: RequestContext) -> Observer:
        """The observer of a traced request (``ctx.trace`` is set only by one)."""
        assert self.observer is not None, "ctx.trace is set only by an observer"
        return self.observer

    async def aclose(self) -> None:
        for stage in self.stages:
            await stage.aclose()
        await self.sink.aclose()


class Relay:
    """The upstream's chunks on their way to the client: usage noted, the gateway's own usage chunk hidden.

    Iterating yields batches: the chunk payloads that arrived together, so that the HTTP layer can send them in
    one write. ``aclose()`` must be called once the response is over, whether or not iteration began (a client
    can leave before the first byte): it closes the upstream and records the request.
    """

    def __init__(
        self, pipeline: Pipeline, ctx: RequestContext, upstream: UpstreamStream, filters: Sequence[StreamFilter] = ()
    ) -> None:
        self._pipeline = pipeline
        self._ctx = ctx
        self._upstream = upstream
        self._filters = tuple(filters)  # the stages' stream filters, in the order the chunks go through them
        self._iterator: AsyncIterator[list[bytes]] | None = None
        self._hide_usage = not ctx.client_wants_usage
        # OpenAI's legacy completions chunk has no room for `"usage": null`, which asking for usage adds.
        self._strip_null_usage = self._hide_usage and ctx.endpoint == "completions"
        # The text is kept only for keys that store content, or when a fast-path upstream shows (no "usage" key
        # in its first chunk) that it ignores include_usage, so the cost stage can count the tokens itself.
        self._text: list[str] | None = [] if ctx.principal.store_content else None
        self._chunks = 0

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        if self._iterator is None:
            self._iterator = self._batches()
        return self._iterator

    async def aclose(self) -> None:
        """Close the upstream and record the request: after the last byte went out, so the client never waits
        for the stages' bookkeeping."""
        if self._iterator is not None:
            await self._iterator.aclose()  # type: ignore[attr-defined]
        else:  # iteration never began: the client left before the first byte
            self._ctx.status = 499
            self._ctx.upstream_cancelled = self._ctx.deployment is not None  # the upstream bills it all the same
            await self._upstream.aclose()
        await self._pipeline._finish(self._ctx)

    async def _batches(self) -> AsyncIterator[list[bytes]]:
        ctx = self._ctx
        deployment = ctx.deployment
        if deployment is not None:
            deployment.in_flight += 1
        completed = False
        try:
            async for batch in self._upstream:
                if ctx.first_token_at is None:
                    ctx.first_token_at = time.perf_counter()
                    fast = deployment is not None and deployment.fast_path
                    if self._text is None and fast and b'"usage"' not in batch[0]:
                        self._text = []
                passed = [out for payload in batch if (out := self._pass(payload)) is not None]
                if passed and self._filters:
                    passed = await self._filtered(passed)
                if passed:
                    yield passed
            if self._filters and (held := await self._ended()):
                yield held
            completed = True
        except GatewayError as exc:
            ctx.fail(exc)
            raise
        finally:
            if deployment is not None:
                deployment.in_flight -= 1
            if not completed and ctx.error is None:
                ctx.status = 499  # the client went away before the end
                # before any chunk came: nothing tells what the upstream generated, so the cost stage bounds it
                ctx.upstream_cancelled = ctx.first_token_at is None and deployment is not None
            ctx.stream_chunks = self._chunks
            ctx.response_text = self._text
            await self._upstream.aclose()

    async def _filtered(self, payloads: list[bytes]) -> list[bytes]:
        for stream_filter in self._filters:
            if not payloads:
                break
            payloads = await stream_filter.feed(payloads)
        return payloads

    async def _ended(self) -> list[bytes]:
        """The upstream ended cleanly: each filter releases what it held, which the filters after it still see."""
        released: list[bytes] = []
        for stream_filter in self._filters:
            if released:
                released = await stream_filter.feed(released)
            released = released + await stream_filter.end()
        return released

    def _pass(self, payload: bytes) -> bytes | None:
        """Note what one chunk says; returns it as the client gets it, or None to hide it."""
        self._chunks += 1
        if self._text is not None:
            _collect_text(payload, self._text)
        if _may_carry_usage(payload) and (usage := _chunk_usage(payload)) is not None:
            self._ctx.usage, is_usage_only = usage
            return None if self._hide_usage and is_usage_only else payload
        return _strip_null_usage(payload) if self._strip_null_usage else payload


class CachedStream:
    """A stage's stored answer (a JSON list of chunk payloads), replayed as if it came from the upstream: one
    chunk at a time, as a live stream arrives, so that clients and stream filters see the same shapes."""

    def __init__(self, body: bytes) -> None:
        self._payloads: list[Any] = orjson.loads(body)

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        return self._replay()

    async def _replay(self) -> AsyncIterator[list[bytes]]:
        for payload in self._payloads:
            yield [orjson.dumps(payload)]

    async def aclose(self) -> None:
        return None


def _blame(ctx: RequestContext, deployment: Deployment, exc: UpstreamTimeout) -> UpstreamTimeout:
    """A timeout the client caused, by setting ``x-gateway-timeout`` below the deployment's own, is not the
    deployment's fault: it still gets retried, but it must not cool the deployment down for every other client.
    An upstream that answered 408/504 itself (``upstream_status``) is at fault whatever the client's timeout."""
    own = deployment.stream_timeout if ctx.stream else deployment.timeout
    if ctx.timeout is None or not ctx.timeout < own or exc.upstream_status is not None:
        return exc
    return ClientTimeout(
        f"{exc.message} (the x-gateway-timeout of this request, shorter than the deployment's {own:g} s)",
        param="x-gateway-timeout",
    )


def _usage_of(body: bytes) -> Usage | None:
    try:
        parsed: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise UpstreamError("the provider sent a body that is not JSON") from exc
    return Usage.from_openai(parsed.get("usage")) if isinstance(parsed, dict) else None


def _collect_text(payload: bytes, into: list[str]) -> None:
    """Append a chunk's generated text (chat ``delta.content``, completions ``text``, a Responses
    ``response.output_text.delta`` event's ``delta``) to ``into``."""
    try:
        chunk = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return
    if isinstance(chunk, dict) and chunk.get("type") == "response.output_text.delta":
        if isinstance(chunk.get("delta"), str):
            into.append(chunk["delta"])
        return
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    for choice in choices if isinstance(choices, list) else ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        piece = delta.get("content") if isinstance(delta, dict) else choice.get("text")
        if isinstance(piece, str):
            into.append(piece)


def _may_carry_usage(payload: bytes) -> bool:
    # Parsing every chunk would cost more than relaying it; only chunks that can hold usage are parsed.
    return b'"usage"' in payload and b'"usage":null' not in payload


def _strip_null_usage(payload: bytes) -> bytes:
    if b'"usage":null' not in payload and b'"usage": null' not in payload:
        return payload
    chunk = orjson.loads(payload)
    if isinstance(chunk, dict) and chunk.get("usage", 0) is None:
        del chunk["usage"]
        return orjson.dumps(chunk)
    return payload


def _chunk_usage(payload: bytes) -> tuple[Usage, bool] | None:
    try:
        chunk = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(chunk, dict):
        return None
    response = chunk.get("response")
    if isinstance(response, dict) and "usage" not in chunk:  # a Responses event: usage is in its response
        usage = Usage.from_openai(response.get("usage"))
        return (usage, False) if usage is not None else None
    usage = Usage.from_openai(chunk.get("usage"))
    if usage is None:
        return None
    return usage, not chunk.get("choices")
