"""Every provider that does not speak OpenAI's API (anthropic/, gemini/, bedrock/, azure/, vertex_ai/, ...).

litellm translates the request and the response. It is imported only when the config has such a deployment,
and then in the background from start-up (``LiteLLMLoader``): importing it takes seconds and about 100 MB of
memory, so the gateway is ready (and serves its other deployments) before it is, and the first request that needs
litellm waits for the import instead of failing. litellm's own retries are switched off: the gateway's router owns
retries, fallbacks and cooldown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import aiohttp
import httpx
import orjson

from gateway.errors import (
    ProviderAdapterError,
    UpstreamBadRequest,
    UpstreamConnectionError,
    UpstreamError,
    UpstreamTimeout,
    upstream_error_for_status,
)
from gateway.providers.base import UpstreamRequest, UpstreamResponse
from gateway.providers.fields import allowed_fields
from gateway.providers.messages import clean_message

#: Errors of litellm's own code that a malformed request field causes (it indexes, calls or unpacks it).
_REQUEST_SHAPED = (KeyError, IndexError, TypeError, AttributeError, ValueError)
#: Errors of litellm's own code that say nothing about the request: a bug or a missing dependency.
_ADAPTER_FAULTS = (*_REQUEST_SHAPED, RuntimeError, NotImplementedError, AssertionError, ImportError)
#: Errors that show the call went out (or tried to): the provider's or the network's part, never the adapter's.
_TRANSPORT = (OSError, TimeoutError, asyncio.TimeoutError, aiohttp.ClientError, httpx.TransportError)


def load_litellm() -> ModuleType:
    """Import litellm for offline use: its bundled price map, and no network calls at import."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm  # noqa: PLC0415 - litellm

    # litellm logs every call at INFO; the gateway's own request log says the same, once.
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM Router").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM Proxy").setLevel(logging.WARNING)
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMLoader:
    """litellm, imported once in a worker thread from the moment ``start`` is called; ``await module()`` waits for
    the import (a failed import is raised to every caller), ``module_now`` is the module once it is loaded."""

    def __init__(self) -> None:
        self._import: asyncio.Future[ModuleType] | None = None

    def start(self) -> LiteLLMLoader:
        if self._import is None:
            self._import = asyncio.ensure_future(asyncio.to_thread(load_litellm))
            self._import.add_done_callback(_retrieve)
        return self

    async def module(self) -> ModuleType:
        return await asyncio.shield(self.start()._import)  # type: ignore[arg-type]  # start() sets it

    @property
    def module_now(self) -> ModuleType:
        """The module, once ``module()`` returned it (every caller awaits that first)."""
        assert self._import is not None and self._import.done(), "litellm is used before it was awaited"
        return self._import.result()

    async def aclose(self) -> None:
        """Wait for an import still running, so that no thread outlives the gateway's shutdown."""
        if self._import is not None:
            with contextlib.suppress(Exception):
                await self._import


def _retrieve(future: asyncio.Future[ModuleType]) -> None:
    if not future.cancelled() and (exc := future.exception()) is not None:
        logging.getLogger("gateway").error("litellm could not be imported: %s", exc)


class LiteLLMProvider:
    def __init__(
        self, litellm: LiteLLMLoader, *, model: str, label: str, params: dict[str, Any], drop_params: bool | None
    ) -> None:
        self._loader = litellm
        self._model = model
        self._label = label
        self._params = {k: v for k, v in params.items() if v is not None}
        if drop_params is not None:
            self._params["drop_params"] = drop_params

    @property
    def _litellm(self) -> ModuleType:
        return self._loader.module_now

    def _kwargs(self, request: UpstreamRequest) -> dict[str, Any]:
        """The call's keyword arguments: the allowed request fields, then the deployment's own settings.

        Never the body itself: litellm takes where and how to connect (``api_base``, ``api_key``, headers,
        ...) in the same keyword namespace, so a body spread into it could redirect the call (see ``fields``).
        """
        body = allowed_fields(request.endpoint, request.body)
        kwargs = {**body, **self._params, "model": self._model, "timeout": request.timeout, "num_retries": 0}
        if request.headers:  # a trace's traceparent, beside the deployment's own extra_headers
            kwargs["extra_headers"] = {**(self._params.get("extra_headers") or {}), **request.headers}
        return kwargs

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
        await self._loader.module()  # at once once loaded; the first requests after start-up wait for the import
        kwargs = self._kwargs(request)
        try:
            if request.endpoint == "chat":
                result = await self._litellm.acompletion(**kwargs)
            elif request.endpoint == "completions":
                result = await self._litellm.atext_completion(**kwargs)
            else:
                kwargs.pop("num_retries")
                result = await self._litellm.aembedding(**kwargs)
        except Exception as exc:
            raise self._translate(exc) from exc
        return UpstreamResponse(orjson.dumps(_to_openai(result)))

    async def stream(self, request: UpstreamRequest) -> LiteLLMStream:
        await self._loader.module()
        kwargs = self._kwargs(request)
        kwargs["stream"] = True
        try:
            if request.endpoint == "chat":
                wrapper = await self._litellm.acompletion(**kwargs)
            else:
                wrapper = await self._litellm.atext_completion(**kwargs)
        except Exception as exc:
            raise self._translate(exc) from exc
        return LiteLLMStream(wrapper, self)

    def _translate(self, exc: Exception) -> UpstreamError:
        """The one boundary where litellm's exceptions become the gateway's.

        litellm reports a failure of its own code (a ``KeyError`` on ``"response_format": {}``, a ``TypeError``
        on a malformed tool) as an ``APIConnectionError`` whose message holds the traceback. Such a failure is
        no fault of the provider: it is neither retried nor counted toward cooldown, and the client gets a 400
        (the request could not be translated) or a 500, with a short message.
        """
        if isinstance(exc, UpstreamError):
            return exc
        message = f"{self._label}: {clean_message(str(getattr(exc, 'message', None) or exc))}"
        if isinstance(exc, self._litellm.Timeout):
            return UpstreamTimeout(message)
        local = _local_fault(exc)
        if local is not None:
            return self._local_error(local)
        if isinstance(exc, self._litellm.APIConnectionError):
            return UpstreamConnectionError(message)
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and status >= 400:
            return upstream_error_for_status(status, message, retry_after=_retry_after(exc))
        return UpstreamConnectionError(message)

    def _local_error(self, fault: BaseException) -> UpstreamError:
        detail = clean_message(f"{type(fault).__name__}: {fault}", limit=200)
        if isinstance(fault, _REQUEST_SHAPED):
            return UpstreamBadRequest(
                f"{self._label}: the provider adapter could not translate this request ({detail}); "
                "check the fields it names (e.g. response_format, tools, messages).",
                code="unsupported_request",
            )
        return ProviderAdapterError(f"{self._label}: the provider adapter failed ({detail}).")

    async def aclose(self) -> None:
        """litellm keeps its own clients; nothing to release per deployment."""


class LiteLLMStream:
    def __init__(self, wrapper: Any, provider: LiteLLMProvider) -> None:
        self._wrapper = wrapper
        self._provider = provider
        self._iterator: AsyncIterator[list[bytes]] | None = None

    def __aiter__(self) -> AsyncIterator[list[bytes]]:
        if self._iterator is None:
            self._iterator = self._chunks()
        return self._iterator

    async def _chunks(self) -> AsyncIterator[list[bytes]]:
        try:
            async for chunk in self._wrapper:
                yield [orjson.dumps(_chunk_to_openai(chunk))]
        except Exception as exc:
            raise self._provider._translate(exc) from exc

    async def aclose(self) -> None:
        iterator, self._iterator = self._iterator, None
        if iterator is not None:
            await iterator.aclose()  # type: ignore[attr-defined]
        close = getattr(self._wrapper, "aclose", None)
        if close is not None:
            # Closing a finished SDK stream must not mask the real outcome.
            with contextlib.suppress(Exception):
                await close()


def _retry_after(exc: Exception) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    retry_after = headers.get("retry-after") if hasattr(headers, "get") else None
    try:
        return float(retry_after) if retry_after is not None else None
    except ValueError:
        return None


def _local_fault(exc: BaseException) -> BaseException | None:
    """The error in litellm's own code behind ``exc``, or None when the call reached the network or provider.

    litellm raises its mapped exception inside the ``except`` that caught the original, so the original is in
    the ``__cause__``/``__context__`` chain. A JSON decoding error is the provider's garbled answer, not ours.
    """
    chain: list[BaseException] = []
    link: BaseException | None = exc
    while link is not None and len(chain) < 16 and link not in chain:
        chain.append(link)
        link = link.__cause__ or link.__context__
    if any(isinstance(link, _TRANSPORT) for link in chain):
        return None
    root = chain[-1]
    if isinstance(root, _ADAPTER_FAULTS) and not isinstance(root, (json.JSONDecodeError, UnicodeError)):
        return root
    return None


_PRIVATE_FIELDS = frozenset({"_hidden_params", "_response_ms", "provider_specific_fields"})


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _PRIVATE_FIELDS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _without_nulls(value: Any) -> Any:
    """litellm fills usage details it does not know with null, where OpenAI's schema wants an integer or nothing."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


def _to_openai(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = result.model_dump() if hasattr(result, "model_dump") else dict(result)
    cleaned: dict[str, Any] = _clean(data)
    if isinstance(cleaned.get("usage"), dict):
        cleaned["usage"] = _without_nulls(cleaned["usage"])
    for choice in cleaned.get("choices") or []:
        message = choice.get("message")
        if isinstance(message, dict):
            message.setdefault("refusal", None)
            if not message.get("tool_calls"):
                message.pop("tool_calls", None)
            if message.get("function_call") is None:
                message.pop("function_call", None)
        choice.setdefault("logprobs", None)
    return cleaned


def _chunk_to_openai(chunk: Any) -> dict[str, Any]:
    data: dict[str, Any] = _clean(chunk.model_dump(exclude_none=True))
    data.setdefault("object", "chat.completion.chunk")
    if isinstance(data.get("usage"), dict):
        data["usage"] = _without_nulls(data["usage"])
    for choice in data.get("choices") or []:
        choice.setdefault("finish_reason", None)
        choice.setdefault("delta", {})
        delta = choice["delta"]
        if not delta.get("tool_calls"):
            delta.pop("tool_calls", None)
    return data
