"""Every provider that does not speak OpenAI's API (anthropic/, gemini/, bedrock/, azure/, vertex_ai/, ...).

litellm translates the request and the response. It is imported only when the config has such a deployment,
at start-up and never on the first request, because importing it takes seconds and about 100 MB of memory.
litellm's own retries are switched off: the gateway's router owns retries, fallbacks and cooldown.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any

import orjson

from gateway.errors import (
    UpstreamConnectionError,
    UpstreamError,
    UpstreamTimeout,
    upstream_error_for_status,
)
from gateway.providers.base import UpstreamRequest, UpstreamResponse


def load_litellm() -> ModuleType:
    """Import litellm for offline use: its bundled price map, and no network calls at import."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    os.environ.setdefault("LITELLM_TELEMETRY", "False")
    import litellm

    # litellm logs every call at INFO; the gateway's own request log says the same, once.
    logging.getLogger("LiteLLM").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM Router").setLevel(logging.WARNING)
    logging.getLogger("LiteLLM Proxy").setLevel(logging.WARNING)
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    return litellm


class LiteLLMProvider:
    def __init__(
        self, litellm: ModuleType, *, model: str, label: str, params: dict[str, Any], drop_params: bool | None
    ) -> None:
        self._litellm = litellm
        self._model = model
        self._label = label
        self._params = {k: v for k, v in params.items() if v is not None}
        if drop_params is not None:
            self._params["drop_params"] = drop_params

    def _kwargs(self, request: UpstreamRequest) -> dict[str, Any]:
        body = {k: v for k, v in request.body.items() if k != "model"}
        return {**body, **self._params, "model": self._model, "timeout": request.timeout, "num_retries": 0}

    async def complete(self, request: UpstreamRequest) -> UpstreamResponse:
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
        """The one boundary where litellm's exceptions become the gateway's."""
        if isinstance(exc, UpstreamError):
            return exc
        message = f"{self._label}: {getattr(exc, 'message', None) or exc}"
        if isinstance(exc, self._litellm.Timeout):
            return UpstreamTimeout(message)
        if isinstance(exc, self._litellm.APIConnectionError):
            return UpstreamConnectionError(message)
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and status >= 400:
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None) or {}
            retry_after = headers.get("retry-after") if hasattr(headers, "get") else None
            try:
                seconds = float(retry_after) if retry_after is not None else None
            except ValueError:
                seconds = None
            return upstream_error_for_status(status, message, retry_after=seconds)
        return UpstreamConnectionError(message)

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
