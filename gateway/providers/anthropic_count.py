"""Anthropic's own token count (``POST /v1/messages/count_tokens``) for the gateway's endpoint of that name.

``AnthropicTokenCount(session, api_base, api_key, label)`` is called with an Anthropic Messages body (``model``
already the upstream's name) and returns the provider's ``input_tokens``. Failures are raised as
``UpstreamError``; the handler then counts locally and says so.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from gateway.errors import UpstreamConnectionError, UpstreamError, UpstreamTimeout, upstream_error_for_status

ANTHROPIC_BASE = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
TIMEOUT_SECONDS = 30.0
#: What the count endpoint accepts; the rest of a Messages body (max_tokens, stream...) it refuses.
_FIELDS = ("model", "messages", "system", "tools", "tool_choice", "thinking", "mcp_servers")


class AnthropicTokenCount:
    def __init__(self, session: aiohttp.ClientSession, api_base: str | None, api_key: str | None, label: str) -> None:
        base = (api_base or ANTHROPIC_BASE).rstrip("/").removesuffix("/v1")
        self._url = base + "/v1/messages/count_tokens"
        self._headers = {"content-type": "application/json", "anthropic-version": API_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key
        self._session = session
        self._label = label

    async def __call__(self, body: dict[str, Any]) -> int:
        payload = {key: body[key] for key in _FIELDS if key in body}
        try:
            async with self._session.post(
                self._url, data=orjson.dumps(payload), headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            ) as response:
                raw = await response.read()
                if response.status >= 400:
                    raise upstream_error_for_status(response.status, f"{self._label} answered {response.status}")
        except TimeoutError as exc:
            raise UpstreamTimeout(f"{self._label} did not count within {TIMEOUT_SECONDS:g} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectionError(f"{self._label}: {type(exc).__name__}") from exc
        try:
            counted = orjson.loads(raw).get("input_tokens")
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise UpstreamError(f"{self._label} sent a count that is not JSON") from exc
        if not isinstance(counted, int):
            raise UpstreamError(f"{self._label} sent no input_tokens")
        return counted
