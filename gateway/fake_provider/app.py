"""The fake provider's aiohttp application: routes, request admission and handlers.

Contract (see the package docstring for the wire behaviour):

* ``POST /v1/chat/completions``, ``/v1/completions``, ``/v1/embeddings``, ``/v1/responses`` and
  ``GET /v1/models[/{id}]`` speak OpenAI; ``POST /v1/messages`` speaks Anthropic.
* Every ``POST`` is admitted the same way: parse, record in the stats, check the key,
  wait ``latency_ms``, then apply the first fault that matches (control API first,
  then the magic model name) before the deterministic reply is built.
* ``/_fake/faults``, ``/_fake/stats`` and ``/_fake/usage`` (scripted usage, ``scripted``) are the control API;
  ``/health`` is liveness.

All state lives on the application object, so several fakes can share a process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from aiohttp import web

from gateway.fake_provider import anthropic_replies, embeddings, replies, responses_replies
from gateway.fake_provider.content import Frames, Json, digest
from gateway.fake_provider.faults import (
    FAULTS_KEY,
    STATS_KEY,
    FaultAction,
    FaultRegistry,
    FaultSpecError,
    RequestStats,
    model_fault,
)
from gateway.fake_provider.scripted import (
    SCRIPTS_KEY,
    UsageScripts,
    clear_usage,
    script_frames,
    script_reply,
    set_usage,
)
from gateway.responses_compat import ResponsesRequestError

Api = Literal["openai", "anthropic"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Big enough for long-context benchmark prompts; aiohttp's default is 1 MiB.
_MAX_BODY = 64 * 1024 * 1024
_SSE_HEADERS = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}


@dataclass(frozen=True, slots=True)
class FakeOptions:
    """How one fake provider instance listens and behaves."""

    host: str = "127.0.0.1"
    port: int = 8911
    latency_ms: int = 0
    chunk_delay_ms: int = 0
    require_key: str | None = None
    embedding_dims: int = 8


OPTIONS_KEY = web.AppKey("fake_provider_options", FakeOptions)


@dataclass(slots=True)
class Call:
    """An admitted API request, ready for its reply to be built."""

    request: web.Request
    body: Json
    model: str
    digest: str
    stream: bool
    cut_after: int | None = None  # set when a cut fault ends the stream early


Reply = Callable[[Call], Awaitable[web.StreamResponse]]


def create_fake_app(options: FakeOptions | None = None) -> web.Application:
    app = web.Application(client_max_size=_MAX_BODY)
    app[OPTIONS_KEY] = options or FakeOptions()
    app[FAULTS_KEY] = FaultRegistry()
    app[STATS_KEY] = RequestStats()
    app[SCRIPTS_KEY] = UsageScripts()
    router = app.router
    router.add_post("/v1/chat/completions", _endpoint("openai", _chat))
    router.add_post("/v1/completions", _endpoint("openai", _completions))
    router.add_post("/v1/embeddings", _endpoint("openai", _embeddings))
    router.add_post("/v1/responses", _endpoint("openai", _responses))
    router.add_post("/v1/messages", _endpoint("anthropic", _messages))
    router.add_post("/v1/messages/count_tokens", _endpoint("anthropic", _count_tokens))
    router.add_get("/v1/models", _list_models)
    router.add_get("/v1/models/{model_id:.+}", _retrieve_model)
    router.add_get("/health", _health)
    router.add_post("/_fake/faults", _add_fault)
    router.add_get("/_fake/faults", _list_faults)
    router.add_delete("/_fake/faults", _clear_faults)
    router.add_get("/_fake/stats", _get_stats)
    router.add_delete("/_fake/stats", _reset_stats)
    router.add_post("/_fake/usage", set_usage)
    router.add_delete("/_fake/usage", clear_usage)
    return app


def _endpoint(api: Api, reply: Reply) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        admitted = await _admit(request, api)
        if isinstance(admitted, web.StreamResponse):
            return admitted
        return await reply(admitted)

    return handle


async def _admit(request: web.Request, api: Api) -> Call | web.StreamResponse:
    """Everything before the reply; returns the early response when there is one."""
    app = request.app
    raw = await request.read()
    try:
        body: Any = orjson.loads(raw)
    except orjson.JSONDecodeError:
        body = None
    model = body.get("model") if isinstance(body, dict) else None
    app[STATS_KEY].record(request.path, model if isinstance(model, str) else "", body, request.headers)
    options = app[OPTIONS_KEY]
    if not _authorised(request, options.require_key):
        return _error(api, 401, "invalid x-api-key" if api == "anthropic" else "Incorrect API key provided.")
    if not isinstance(body, dict):
        return _error(api, 400, "the request body must be a JSON object")
    if not isinstance(model, str) or not model:
        return _error(api, 400, "model: a non-empty string is required")
    if options.latency_ms:
        await asyncio.sleep(options.latency_ms / 1000)
    call = Call(request, body, model, digest(raw), body.get("stream") is True)
    registry = app[FAULTS_KEY]
    action = (registry.take(request.path, model) if registry.faults else None) or model_fault(model)
    return call if action is None else await _apply_fault(call, api, action)


async def _apply_fault(call: Call, api: Api, action: FaultAction) -> Call | web.StreamResponse:
    if action.kind == "status":
        return _error(api, action.status, f"injected fault: HTTP {action.status}", action.retry_after)
    if action.kind in ("latency", "timeout"):
        await asyncio.sleep(action.latency_ms / 1000)
        return call if action.kind == "latency" else _drop(call.request)
    if not call.stream:
        return _drop(call.request)
    call.cut_after = action.after_chunks
    return call


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection without a (complete) response, like a crashed upstream."""
    if request.transport is not None:
        # close() rather than abort(): bytes already written still reach the client first.
        request.transport.close()
    # aiohttp's attempt to send this meets the closed transport and is dropped quietly.
    return web.Response(status=500)


def _authorised(request: web.Request, required: str | None) -> bool:
    if required is None:
        return True
    if request.headers.get("x-api-key") == required:
        return True
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and token == required


def _error(api: Api, status: int, message: str, retry_after: int | None = None) -> web.Response:
    if api == "openai":
        body = replies.openai_error(status, message)
    else:
        body = anthropic_replies.anthropic_error(status, message)
    headers = None if retry_after is None else {"Retry-After": str(retry_after)}
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(payload), status=status, content_type="application/json")


async def _stream(call: Call, frames: Frames) -> web.StreamResponse:
    response = web.StreamResponse(headers=_SSE_HEADERS)
    await response.prepare(call.request)
    chosen = frames.frames
    if call.cut_after is not None:
        chosen = chosen[: frames.preamble + call.cut_after]
    delay = call.request.app[OPTIONS_KEY].chunk_delay_ms
    try:
        if delay:
            for position, frame in enumerate(chosen):
                if position:
                    await asyncio.sleep(delay / 1000)
                await response.write(frame)
        else:
            # One write for the whole stream keeps the benchmark path cheap.
            await response.write(b"".join(chosen))
    except ConnectionResetError:
        return response  # the client left midway: normal for a proxy that cancels, not worth a traceback
    if call.cut_after is not None:
        _drop(call.request)  # no final chunk and no chunked-encoding terminator
        return response
    await response.write_eof()
    return response


def _include_usage(body: Json) -> bool:
    stream_options = body.get("stream_options")
    return isinstance(stream_options, dict) and stream_options.get("include_usage") is True


async def _chat(call: Call) -> web.StreamResponse:
    messages = call.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error("openai", 400, "messages: a non-empty array is required")
    plan = replies.plan_chat(call.body)
    ident, created = "chatcmpl-" + call.digest, int(time.time())
    if call.stream:
        frames = replies.chat_stream(plan, call.model, ident, created, _include_usage(call.body))
        return await _stream(call, script_frames(frames, _scripted(call)))
    return _json(script_reply(replies.chat_completion(plan, call.model, ident, created), _scripted(call)))


async def _completions(call: Call) -> web.StreamResponse:
    if "prompt" not in call.body:
        return _error("openai", 400, "prompt: this field is required")
    ident, created = "cmpl-" + call.digest, int(time.time())
    if call.stream:
        frames = replies.completion_stream(call.body, call.model, ident, created, _include_usage(call.body))
        return await _stream(call, script_frames(frames, _scripted(call)))
    return _json(script_reply(replies.completion(call.body, call.model, ident, created), _scripted(call)))


async def _embeddings(call: Call) -> web.StreamResponse:
    reply = embeddings.embeddings(call.body, call.model, call.request.app[OPTIONS_KEY].embedding_dims)
    if reply is None:
        return _error("openai", 400, "input: a string, an array of strings or token arrays is required")
    return _json(script_reply(reply, _scripted(call)))


async def _responses(call: Call) -> web.StreamResponse:
    try:
        if call.stream:
            return await _stream(call, responses_replies.response_stream(call.body, call.model, call.digest))
        return _json(responses_replies.response(call.body, call.model, call.digest))
    except ResponsesRequestError as exc:
        return _error("openai", 400, str(exc))


async def _messages(call: Call) -> web.StreamResponse:
    messages = call.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error("anthropic", 400, "messages: Field required")
    if not isinstance(call.body.get("max_tokens"), int):
        return _error("anthropic", 400, "max_tokens: Field required")
    plan = anthropic_replies.plan_message(call.body)
    ident = "msg_" + call.digest
    if call.stream:
        frames = anthropic_replies.message_stream(plan, call.model, ident)
        return await _stream(call, script_frames(frames, _scripted(call)))
    return _json(script_reply(anthropic_replies.message(plan, call.model, ident), _scripted(call)))


def _scripted(call: Call) -> Json | None:
    return call.request.app[SCRIPTS_KEY].for_model(call.model)


async def _count_tokens(call: Call) -> web.StreamResponse:
    """Anthropic's count: the words of the request, so a test tells it from the gateway's local count."""
    messages = call.body.get("messages")
    if not isinstance(messages, list) or not messages:
        return _error("anthropic", 400, "messages: Field required")
    return _json({"input_tokens": anthropic_replies.plan_message({**call.body, "max_tokens": 1}).input_tokens})


async def _read_only(request: web.Request) -> web.Response | None:
    """Auth and latency for the GET endpoints, which are neither counted nor faulted."""
    options = request.app[OPTIONS_KEY]
    if not _authorised(request, options.require_key):
        return _error("openai", 401, "Incorrect API key provided.")
    if options.latency_ms:
        await asyncio.sleep(options.latency_ms / 1000)
    return None


async def _list_models(request: web.Request) -> web.Response:
    denied = await _read_only(request)
    if denied is not None:
        return denied
    return _json(replies.model_list(request.app[STATS_KEY].models_seen()))


async def _retrieve_model(request: web.Request) -> web.Response:
    denied = await _read_only(request)
    if denied is not None:
        return denied
    return _json(replies.model_object(request.match_info["model_id"]))


async def _health(request: web.Request) -> web.Response:
    return _json({"status": "ok"})


async def _add_fault(request: web.Request) -> web.Response:
    try:
        spec = orjson.loads(await request.read())
        if not isinstance(spec, dict):
            raise FaultSpecError("the body must be a JSON object")
        fault = request.app[FAULTS_KEY].add(spec)
    except (orjson.JSONDecodeError, FaultSpecError) as exc:
        return _json({"error": str(exc)}, status=400)
    return _json(fault.describe(), status=201)


async def _list_faults(request: web.Request) -> web.Response:
    return _json({"faults": request.app[FAULTS_KEY].describe()})


async def _clear_faults(request: web.Request) -> web.Response:
    registry = request.app[FAULTS_KEY]
    cleared = len(registry.faults)
    registry.clear()
    return _json({"cleared": cleared})


async def _get_stats(request: web.Request) -> web.Response:
    return _json(request.app[STATS_KEY].describe())


async def _reset_stats(request: web.Request) -> web.Response:
    request.app[STATS_KEY].reset()
    return _json({"status": "ok"})
