"""A Responses stream says its text twice: piece by piece in the delta events, then whole in the ``.done`` events
(``response.output_text.done``, ``response.content_part.done``, ``response.function_call_arguments.done``,
``response.output_item.done``) and in the final ``response.completed`` (or ``incomplete``/``failed``).

The output guardrails decide on the deltas (``stream.GuardedStream``) and may rewrite them: a redacted value, a
masked value given back. ``Repeats`` wraps that filter and makes every whole copy say exactly what the released
deltas said, so a client that reads the whole copies (the openai SDK's final response does) reads the same text,
and a redacted value cannot come back through them. A block never lets the whole copies out: they come after the
deltas they repeat, which the filter holds until decided.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from gateway.guardrails.extract import Json
from gateway.pipeline.stages import StreamFilter


class Repeats:
    """A ``StreamFilter`` around the guardrails' own: tracks the released deltas, rewrites the whole copies."""

    def __init__(self, inner: StreamFilter) -> None:
        self._inner = inner
        self._texts: dict[tuple[int, int], list[str]] = {}  # (output item, content part) -> released text deltas
        self._arguments: dict[int, list[str]] = {}  # output item -> released function-call argument deltas

    async def feed(self, payloads: list[bytes]) -> list[bytes]:
        return [self._in_step(payload) for payload in await self._inner.feed(payloads)]

    async def end(self) -> list[bytes]:
        return [self._in_step(payload) for payload in await self._inner.end()]

    def _in_step(self, payload: bytes) -> bytes:
        handle = _HANDLERS.get(_event_type(payload))
        if handle is None:
            return payload
        event = orjson.loads(payload)
        if not isinstance(event, dict):
            return payload
        return orjson.dumps(event) if handle(self, event) else payload

    def _text_delta(self, event: Json) -> bool:
        if isinstance(event.get("delta"), str):
            self._texts.setdefault(_part(event), []).append(event["delta"])
        return False

    def _arguments_delta(self, event: Json) -> bool:
        if isinstance(event.get("delta"), str):
            self._arguments.setdefault(_item(event), []).append(event["delta"])
        return False

    def _text_done(self, event: Json) -> bool:
        return _replace(event, "text", self._texts.get(_part(event)))

    def _part_done(self, event: Json) -> bool:
        part = event.get("part")
        return isinstance(part, dict) and _replace(part, "text", self._texts.get(_part(event)))

    def _arguments_done(self, event: Json) -> bool:
        return _replace(event, "arguments", self._arguments.get(_item(event)))

    def _item_done(self, event: Json) -> bool:
        item = event.get("item")
        return isinstance(item, dict) and self._output_item(_item(event), item)

    def _response_done(self, event: Json) -> bool:
        response = event.get("response")
        output = response.get("output") if isinstance(response, dict) else None
        changed = False
        for index, item in enumerate(output if isinstance(output, list) else ()):
            if isinstance(item, dict):
                changed = self._output_item(index, item) or changed
        return changed

    def _output_item(self, index: int, item: Json) -> bool:
        changed = _replace(item, "arguments", self._arguments.get(index))
        content = item.get("content")
        for part_index, part in enumerate(content if isinstance(content, list) else ()):
            if isinstance(part, dict):
                changed = _replace(part, "text", self._texts.get((index, part_index))) or changed
        return changed


def _replace(holder: Json, key: str, released: list[str] | None) -> bool:
    """Set ``holder[key]`` to the released text, if deltas of it were released and it says something else."""
    if released is None or not isinstance(holder.get(key), str):
        return False
    text = "".join(released)
    if holder[key] == text:
        return False
    holder[key] = text
    return True


def _item(event: Json) -> int:
    value = event.get("output_index")
    return value if isinstance(value, int) else 0


def _part(event: Json) -> tuple[int, int]:
    value = event.get("content_index")
    return _item(event), value if isinstance(value, int) else 0


def _event_type(payload: bytes) -> bytes:
    """The event's ``type``: read without parsing when it comes first (as the gateway and OpenAI write it)."""
    if payload.startswith(b'{"type":"'):
        end = payload.find(b'"', 9)
        return payload[9:end] if end > 0 else b""
    try:
        event: Any = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return b""
    kind = event.get("type") if isinstance(event, dict) else None
    return kind.encode() if isinstance(kind, str) else b""


_HANDLERS: dict[bytes, Callable[[Repeats, Json], bool]] = {
    b"response.output_text.delta": Repeats._text_delta,
    b"response.function_call_arguments.delta": Repeats._arguments_delta,
    b"response.output_text.done": Repeats._text_done,
    b"response.content_part.done": Repeats._part_done,
    b"response.function_call_arguments.done": Repeats._arguments_done,
    b"response.output_item.done": Repeats._item_done,
    b"response.completed": Repeats._response_done,
    b"response.incomplete": Repeats._response_done,
    b"response.failed": Repeats._response_done,
}
