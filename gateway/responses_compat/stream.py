"""OpenAI chat.completion chunks -> the Responses API's typed stream events.

Contract: ``ChatToResponseStream(request, response_id)``; ``feed(chunk)`` takes one parsed chat chunk and returns
the event payloads (JSON bytes, ``type`` first) it causes; ``finish()`` closes what is open and returns the last
ones, ending with ``response.completed`` (or ``response.incomplete`` when the model hit its token limit) that
carries the whole response and its usage. The first ``feed`` (or ``finish``) opens the stream with
``response.created`` and ``response.in_progress``. Every event validates against its schema in OpenAI's OpenAPI
description and carries a rising ``sequence_number``.

Output items come one after another, as chat deltas do: reasoning (``reasoning_content``), then the message,
then each tool call; a new kind of delta closes the item before it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import orjson

from gateway.responses_compat.response import (
    call_item,
    finish,
    mapping,
    message_item,
    new_id,
    output_text,
    reasoning_item,
    response_usage,
    skeleton,
)

__all__ = ["ChatToResponseStream"]

JSON = dict[str, Any]


@dataclass(slots=True)
class _Open:
    """The output item being streamed."""

    kind: str  # "reasoning", "message" or "call"
    item: JSON
    index: int
    text: list[str] = field(default_factory=list)
    tool_index: int | None = None


class ChatToResponseStream:
    def __init__(self, request: JSON, response_id: str, model: str) -> None:
        self._response = skeleton(request, response_id, model)
        self._sequence = 0
        self._started = False
        self._open: _Open | None = None
        self._output: list[JSON] = []
        self._usage: JSON | None = None
        self._finish_reason: str | None = None

    def feed(self, chunk: JSON) -> list[bytes]:
        events = self._start()
        if isinstance(chunk.get("usage"), dict):
            self._usage = response_usage(chunk["usage"])
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else None
        if choice is None:
            return events
        delta = mapping(choice.get("delta"))
        if isinstance(delta.get("reasoning_content"), str) and delta["reasoning_content"]:
            events += self._text("reasoning", delta["reasoning_content"])
        if isinstance(delta.get("content"), str) and delta["content"]:
            events += self._text("message", delta["content"])
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                events += self._call(call)
        if choice.get("finish_reason"):
            self._finish_reason = choice["finish_reason"]
        return events

    def finish(self) -> list[bytes]:
        events = self._start() + self._close()
        response = finish(self._response, self._output, self._usage, self._finish_reason)
        kind = "response.completed" if response["status"] == "completed" else "response.incomplete"
        return [*events, self._event(kind, response=response)]

    @property
    def sequence(self) -> int:
        """The next event's sequence number (an error event the caller adds takes it)."""
        return self._sequence

    def _start(self) -> list[bytes]:
        if self._started:
            return []
        self._started = True
        return [
            self._event("response.created", response=copy.deepcopy(self._response)),
            self._event("response.in_progress", response=copy.deepcopy(self._response)),
        ]

    def _event(self, kind: str, **fields: Any) -> bytes:
        payload = {"type": kind, **fields, "sequence_number": self._sequence}
        self._sequence += 1
        return orjson.dumps(payload)

    def _text(self, kind: str, delta: str) -> list[bytes]:
        events: list[bytes] = []
        current = self._open
        if current is None or current.kind != kind:
            events += self._close()
            current = self._begin(kind)
            events += self._opened(current)
        current.text.append(delta)
        item_id = current.item["id"]
        if kind == "reasoning":
            events.append(self._event("response.reasoning_summary_text.delta", item_id=item_id,
                                      output_index=current.index, summary_index=0, delta=delta))
        else:
            events.append(self._event("response.output_text.delta", item_id=item_id, output_index=current.index,
                                      content_index=0, delta=delta, logprobs=[]))
        return events

    def _call(self, call: JSON) -> list[bytes]:
        events: list[bytes] = []
        function = mapping(call.get("function"))
        index = call.get("index", 0)
        current = self._open
        if current is None or current.kind != "call" or current.tool_index != index:
            events += self._close()
            current = self._begin("call", call_id=str(call.get("id") or new_id("call")),
                                  name=str(function.get("name") or ""))
            current.tool_index = index
            events += self._opened(current)
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            current.text.append(arguments)
            events.append(self._event("response.function_call_arguments.delta", item_id=current.item["id"],
                                      output_index=current.index, delta=arguments))
        return events

    def _begin(self, kind: str, call_id: str = "", name: str = "") -> _Open:
        if kind == "reasoning":
            item: JSON = {"type": "reasoning", "id": new_id("rs"), "summary": []}
        elif kind == "message":
            item = {**message_item(new_id("msg"), "", "in_progress"), "content": []}
        else:
            item = call_item(new_id("fc"), call_id, {"name": name, "arguments": ""}, "in_progress")
        self._open = _Open(kind, item, len(self._output))
        return self._open

    def _opened(self, current: _Open) -> list[bytes]:
        item_id, index = current.item["id"], current.index
        events = [self._event("response.output_item.added", output_index=index, item=copy.deepcopy(current.item))]
        if current.kind == "reasoning":
            events.append(self._event("response.reasoning_summary_part.added", item_id=item_id, output_index=index,
                                      summary_index=0, part={"type": "summary_text", "text": ""}))
        elif current.kind == "message":
            events.append(self._event("response.content_part.added", item_id=item_id, output_index=index,
                                      content_index=0, part=output_text("")))
        return events

    def _close(self) -> list[bytes]:
        current, self._open = self._open, None
        if current is None:
            return []
        text = "".join(current.text)
        item_id, index = current.item["id"], current.index
        if current.kind == "reasoning":
            item = reasoning_item(item_id, text)
            events = [
                self._event("response.reasoning_summary_text.done", item_id=item_id, output_index=index,
                            summary_index=0, text=text),
                self._event("response.reasoning_summary_part.done", item_id=item_id, output_index=index,
                            summary_index=0, part={"type": "summary_text", "text": text}),
            ]
        elif current.kind == "message":
            item = message_item(item_id, text, "completed")
            events = [
                self._event("response.output_text.done", item_id=item_id, output_index=index, content_index=0,
                            text=text, logprobs=[]),
                self._event("response.content_part.done", item_id=item_id, output_index=index, content_index=0,
                            part=output_text(text)),
            ]
        else:
            item = {**current.item, "arguments": text, "status": "completed"}
            events = [self._event("response.function_call_arguments.done", item_id=item_id, output_index=index,
                                  name=item["name"], arguments=text)]
        self._output.append(item)
        return [*events, self._event("response.output_item.done", output_index=index, item=item)]
