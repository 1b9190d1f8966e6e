"""A guardrail that asks a service of yours: POST ``{"texts": [...], "stage": ...}`` to ``url``, which answers
``{"findings": [[{"entity": "...", "start": 0, "end": 5}], ...]}`` (one list per text; a finding without a span
judges the whole text). The engine's deadline applies: a slow or failing service blocks (fail closed) unless the
guardrail is fail-open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from gateway.guardrails.detectors.base import Match


class WebhookDetector:
    spans = True
    max_length: int | None = None  # a remote judge sees whole texts; streams are judged at their end

    def __init__(self, url: str, headers: Mapping[str, str] | None = None, timeout: float = 2.0) -> None:
        self._url = url
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        response = await self._client.post(self._url, json={"texts": list(texts)}, headers=self._headers)
        response.raise_for_status()
        return _parse(response.json(), texts)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()


def _parse(payload: Any, texts: Sequence[str]) -> list[list[Match]]:
    lists = payload.get("findings") if isinstance(payload, dict) else None
    if not isinstance(lists, list) or len(lists) != len(texts):
        raise ValueError("the webhook's answer has no `findings` list with one entry per text")
    out: list[list[Match]] = []
    for text, items in zip(texts, lists, strict=True):
        found: list[Match] = []
        for item in items if isinstance(items, list) else ():
            entity = str(item.get("entity", "webhook")) if isinstance(item, dict) else "webhook"
            start, end = (item.get("start"), item.get("end")) if isinstance(item, dict) else (None, None)
            if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
                found.append(Match(entity, start, end))
            else:
                found.append(Match(entity, whole=True))
        out.append(found)
    return out
