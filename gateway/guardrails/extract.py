"""Where the text is, per endpoint: one table for requests, one for answers, one for stream chunks.

A ``Slot`` is one string inside a body (a message's content, a prompt, an input), with the role of the message it
belongs to; guardrails read ``slot.text`` and rewrite it with ``slot.set``. Adding an endpoint is one entry per
table (``/v1/messages`` is served as chat, so it needs none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]


@dataclass(slots=True)
class Slot:
    holder: Any  # the dict or list the string is in
    key: str | int
    role: str | None = None

    @property
    def text(self) -> str:
        value: str = self.holder[self.key]
        return value

    def set(self, text: str) -> None:
        self.holder[self.key] = text


def _string(holder: Any, key: str | int, role: str | None = None) -> Iterator[Slot]:
    try:
        value = holder[key]
    except (KeyError, IndexError, TypeError):
        return
    if isinstance(value, str):
        yield Slot(holder, key, role)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, str):
                yield Slot(value, index, role)
            elif isinstance(item, dict) and isinstance(item.get("text"), str):
                yield Slot(item, "text", role)  # content parts: {"type": "text" | "input_text", "text": ...}


def _tool_calls(message: Json, role: str | None) -> Iterator[Slot]:
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else ():
        function = call.get("function") if isinstance(call, dict) else None
        if isinstance(function, dict):
            yield from _string(function, "arguments", role)


def _chat_request(body: Json) -> Iterator[Slot]:
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else ():
        if isinstance(message, dict):
            role = message.get("role") if isinstance(message.get("role"), str) else None
            yield from _string(message, "content", role)
            yield from _tool_calls(message, role)


def _responses_request(body: Json) -> Iterator[Slot]:
    yield from _string(body, "instructions", "system")
    items = body.get("input")
    if isinstance(items, str):
        yield from _string(body, "input", "user")
        return
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict):
            role = item.get("role") if isinstance(item.get("role"), str) else "user"
            yield from _string(item, "content", role)
            yield from _string(item, "output", "tool")  # function_call_output
            yield from _string(item, "arguments", "assistant")  # function_call


#: endpoint -> the text slots of its request body.
REQUEST_TEXT: dict[str, Callable[[Json], Iterator[Slot]]] = {
    "chat": _chat_request,
    "completions": lambda body: _string(body, "prompt", "user"),
    "embeddings": lambda body: _string(body, "input", "user"),
    "responses": _responses_request,
}


def _choices(body: Json) -> Iterator[Json]:
    choices = body.get("choices")
    for choice in choices if isinstance(choices, list) else ():
        if isinstance(choice, dict):
            yield choice


def _chat_answer(body: Json) -> Iterator[Slot]:
    for choice in _choices(body):
        message = choice.get("message")
        if isinstance(message, dict):
            yield from _string(message, "content", "assistant")
            yield from _tool_calls(message, "assistant")


def _responses_answer(body: Json) -> Iterator[Slot]:
    output = body.get("output")
    for item in output if isinstance(output, list) else ():
        if isinstance(item, dict):
            yield from _string(item, "content", "assistant")
            yield from _string(item, "arguments", "assistant")


#: endpoint -> the text slots of a whole answer (embeddings have none: their answers are not read at all).
ANSWER_TEXT: dict[str, Callable[[Json], Iterator[Slot]]] = {
    "chat": _chat_answer,
    "completions": lambda body: (slot for c in _choices(body) for slot in _string(c, "text", "assistant")),
    "responses": _responses_answer,
}


@dataclass(slots=True)
class Piece:
    """A piece of streamed text in one chunk: which channel it continues, and where it is in the chunk."""

    channel: tuple[int, int]  # (choice index, -1 for the text or the tool call's index)
    slot: Slot


def _chat_pieces(chunk: Json) -> Iterator[Piece]:
    for choice in _choices(chunk):
        index = _index(choice, 0)
        delta = choice.get("delta")
        if not isinstance(delta, dict):
            continue
        for slot in _string(delta, "content"):
            yield Piece((index, -1), slot)
        calls = delta.get("tool_calls")
        for position, call in enumerate(calls if isinstance(calls, list) else ()):
            function = call.get("function") if isinstance(call, dict) else None
            tool = _index(call, position) if isinstance(call, dict) else position
            if isinstance(function, dict):
                for slot in _string(function, "arguments"):
                    yield Piece((index, tool), slot)


def _index(item: Json, default: int) -> int:
    value = item.get("index")
    return value if isinstance(value, int) else default


def finished_choices(chunk: Json) -> list[int]:
    """The choices a chunk ends (it carries their ``finish_reason``); a Responses stream's
    ``response.output_item.done`` ends its output item, which is that stream's channel."""
    if chunk.get("type") == "response.output_item.done":
        return [_output_index(chunk)]
    return [_index(c, 0) for c in _choices(chunk) if c.get("finish_reason")]


def _output_index(event: Json) -> int:
    value = event.get("output_index")
    return value if isinstance(value, int) else 0


def _responses_pieces(event: Json) -> Iterator[Piece]:
    """A Responses stream event's new text: an output item's text delta (windowed, channel ``(item, -1)``) or a
    function call's arguments delta (held until the call is done, channel ``(item, 0)``). The ``.done`` events
    and ``response.completed`` repeat the whole text; ``responses_stream.Repeats`` keeps them in step."""
    kind = event.get("type")
    if kind == "response.output_text.delta":
        channel = (_output_index(event), -1)
    elif kind == "response.function_call_arguments.delta":
        channel = (_output_index(event), 0)
    else:
        return
    for slot in _string(event, "delta"):
        yield Piece(channel, slot)


#: endpoint -> the text pieces of one stream chunk (OpenAI chunk shape or a Responses event;
#: /v1/messages streams as chat).
STREAM_TEXT: dict[str, Callable[[Json], Iterator[Piece]]] = {
    "chat": _chat_pieces,
    "completions": lambda chunk: (
        Piece((_index(c, 0), -1), slot) for c in _choices(chunk) for slot in _string(c, "text")
    ),
    "responses": _responses_pieces,
}
