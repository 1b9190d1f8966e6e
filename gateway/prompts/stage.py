"""The pipeline stage that serves prompts by reference (first of the stages; see gateway.pipeline.stages).

A chat request that names a prompt (``prompt_id`` + ``prompt_variables``, or ``model: "prompt/NAME@label"``) is
rewritten before anything else sees it:

* the version is resolved from the in-memory cache (a label's canary splits callers stably by ``user``, else by
  key id);
* its messages are rendered with the variables, and the request's own messages follow them;
* its model and parameters apply, and the request's fields override them, except the fields the prompt locks.
  The request's ``model`` is an override too, unless it is a ``prompt/...`` reference;
* ``prompt_id`` / ``prompt_variables`` are removed, so the upstream never sees them;
* ``ctx.prompt_name`` / ``ctx.prompt_version`` name the version, for the response header and the request log.

An unknown prompt, label or version (after one more look at the store, see ``PromptCache.check_after_miss``), or
a variable missing or invalid, is a 400 that names it.
Requests that name no prompt pass through at the cost of two dictionary lookups.
"""

from __future__ import annotations

from typing import Any, Self

from gateway.bus import PROMPTS, InvalidationBus
from gateway.errors import RequestError
from gateway.pipeline.context import RequestContext
from gateway.pipeline.stages import StageParts, StreamFilter
from gateway.prompts.cache import PromptCache, ServedVersion
from gateway.prompts.errors import PromptError, RenderError
from gateway.prompts.reference import MODEL_PREFIX, Reference, parse_reference, references_prompt
from gateway.providers.fields import RESPONSES_NAMES
from gateway.responses_compat import ResponsesRequestError, input_items

#: Request fields the stage consumes; everything else is passed on (or overrides the prompt's value).
_CONSUMED = frozenset({"prompt_id", "prompt_variables", "messages", "model", "prompt"})


class PromptStage:
    name = "prompts"

    def __init__(self, cache: PromptCache, bus: InvalidationBus | None = None) -> None:
        self.cache = cache
        self._bus = bus

    @classmethod
    async def start(cls, parts: StageParts) -> Self:
        """Load the registry (later, on the first refresh, if the database is down), listen for changes, and
        start the refresher."""
        cache = PromptCache(parts.database, parts.config.gateway.prompt_refresh_seconds)
        if parts.database_ready:
            await cache.reload()
        parts.bus.subscribe(PROMPTS, cache.on_invalidate)
        cache.start()
        return cls(cache, parts.bus)

    async def before(self, ctx: RequestContext) -> bytes | None:
        body = ctx.body
        if not references_prompt(body):
            return None
        if ctx.endpoint == "embeddings":
            raise RequestError("Prompts are served on /v1/chat/completions, not embeddings.", param="prompt_id")
        model_ref = ctx.model[len(MODEL_PREFIX) :] if ctx.model.startswith(MODEL_PREFIX) else None
        raw = body.get("prompt_id", model_ref)
        if not isinstance(raw, str):
            raise RequestError("`prompt_id` must be a string: name, name@VERSION or name@LABEL.", param="prompt_id")
        param = "prompt_id" if "prompt_id" in body else "model"
        try:
            served = await self._resolve(parse_reference(raw), _caller(ctx))
        except ValueError as exc:
            raise RequestError(f"{exc}.", param=param, code="invalid_prompt_reference") from exc
        except PromptError as exc:
            raise RequestError(f"{exc}.", param=param, code="prompt_not_found") from exc
        ctx.prompt_name, ctx.prompt_version = served.name, served.version
        variables = body.get("prompt_variables")
        if variables is None:
            variables = {}
        if not isinstance(variables, dict):
            raise RequestError("`prompt_variables` must be an object.", param="prompt_variables")
        try:
            rendered = served.compiled.render(variables)
        except RenderError as exc:
            raise RequestError(f"{exc}.", param=exc.param, code="invalid_prompt_variables") from exc
        ctx.body = _merged(ctx, served, rendered, use_prompt_model=model_ref is not None)
        ctx.model = ctx.body["model"]
        return None

    async def _resolve(self, ref: Reference, caller: str | None) -> ServedVersion:
        """From memory; on a miss, once more after checking the store (a prompt pushed a moment ago).

        First, changes other processes announced and this one has not acted on yet (a ``gateway prompts release``
        that returned just before this request was sent): one ``stat`` when there are none, on prompt requests
        only."""
        if self._bus is not None:
            await self._bus.catch_up()
        try:
            return self.cache.resolve(ref, caller)
        except PromptError:
            await self.cache.check_after_miss()
        return self.cache.resolve(ref, caller)

    async def answer(self, ctx: RequestContext, body: bytes) -> bytes:
        return body

    def stream_filter(self, ctx: RequestContext) -> StreamFilter | None:
        return None

    async def after(self, ctx: RequestContext) -> None:
        return None

    async def aclose(self) -> None:
        await self.cache.aclose()


def _caller(ctx: RequestContext) -> str | None:
    user = ctx.body.get("user")
    if isinstance(user, str) and user:
        return "user:" + user
    if ctx.principal.key_id is not None:
        return "key:" + ctx.principal.key_id
    return "request:" + ctx.request_id


def _merged(
    ctx: RequestContext, served: ServedVersion, rendered: list[dict[str, str]], *, use_prompt_model: bool
) -> dict[str, Any]:
    body = ctx.body
    merged: dict[str, Any] = dict(served.parameters)
    merged.update((k, v) for k, v in body.items() if k not in _CONSUMED and k not in served.locked)
    model = served.model if use_prompt_model or "model" in served.locked else body.get("model")
    if not model:
        raise RequestError(f"Prompt {served.name}@{served.version} sets no model; send one in `model`.", param="model")
    merged["model"] = model
    if ctx.endpoint == "completions":
        if served.kind != "text":
            raise RequestError(
                f"Prompt {served.name} is a chat prompt; serve it on /v1/chat/completions.", param="prompt_id"
            )
        extra = body.get("prompt")
        merged["prompt"] = rendered[0]["content"] + (extra if isinstance(extra, str) else "")
        return merged
    if ctx.endpoint == "responses":
        return _as_responses(merged, body, served, rendered)
    own = body.get("messages")
    if own is not None and not isinstance(own, list):
        raise RequestError("`messages` must be an array.", param="messages")
    merged["messages"] = [*rendered, *(own or [])]
    return merged


def _as_responses(
    merged: dict[str, Any], body: dict[str, Any], served: ServedVersion, rendered: list[dict[str, str]]
) -> dict[str, Any]:
    """A prompt on ``/v1/responses``: its messages lead the ``input`` items, and its chat parameters take their
    Responses names (``max_tokens`` -> ``max_output_tokens``); a parameter with no Responses meaning is dropped."""
    for name in served.parameters:
        if name in merged and name not in RESPONSES_NAMES.values() and body.get(name) is None:
            value = merged.pop(name)
            target = RESPONSES_NAMES.get(name)
            if target is not None:
                merged.setdefault(target, value)
    try:
        own = input_items(body)
    except ResponsesRequestError as exc:
        raise RequestError(exc.message, param=exc.param) from exc
    merged["input"] = [*({"role": m["role"], "content": m["content"]} for m in rendered), *own]
    return merged
