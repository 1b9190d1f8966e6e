"""OpenAI chat.completion chunks -> Anthropic Messages server-sent events.

Contract: one ``ChatToMessageStream`` per response. Call ``feed(chunk)`` with every parsed OpenAI chunk and
send the bytes it returns (often empty), then ``finish()`` once the upstream is done, or ``error_event`` if it
failed midway. The output is Anthropic's event sequence: ``message_start``, ``ping``, then for each content
block ``content_block_start`` / ``content_block_delta``... / ``content_block_stop`` with consecutive indices,
then ``message_delta`` (stop reason and usage) and ``message_stop``. Each event is
``event: NAME\\ndata: {compact json}\\n\\n``.

The closing events wait for the usage chunk that OpenAI sends after the finish_reason chunk, so they carry
the real token counts: they go out when that usage chunk arrives, or from ``finish()`` otherwise.
``finish()`` is also correct for a stream that ended without a finish_reason or without any chunk. After the
closing or an error event every call returns ``b""``. Only choice 0 is read; reasoning deltas are dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from gateway.anthropic_compat.response import (
    error_to_anthropic,
    map_stop_reason,
    map_usage,
    matched_stop_sequence,
    message_id,
    new_tool_id,
)

__all__ = ["ChatToMessageStream"]

JSON = dict[str, Any]


def sse(event: str, payload: JSON) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(payload) + b"\n\n"


class ChatToMessageStream:
    """Stateful translator for one streamed response; not shared between requests."""

    def __init__(self, model: str, message_id: str | None = None, stop_sequences: Sequence[str] | None = None) -> None:
        self._model = model
        self._message_id = message_id
        self._stop_sequences = tuple(stop_sequences or ())
        self._started = False
        self._closed = False
        self._next_index = 0
        self._open_block: str | None = None  # "text" or "tool_use"
        self._tool_index: int | None = None  # the OpenAI index of the open tool_use block
        self._tool_upstream_id: str | None = None
        self._saw_tool_use = False
        self._finish_seen = False
        self._finish_reason: str | None = None
        self._stop_sequence: str | None = None
        self._usage: dict[str, Any] | None = None

    def feed(self, chunk: dict[str, Any]) -> bytes:
        """SSE bytes for one parsed OpenAI chunk (possibly ``b""``)."""
        if self._closed:
            return b""
        error = chunk.get("error")
        if error is not None and not chunk.get("choices"):
            # OpenRouter and some vLLM builds report failures as a data chunk instead of an HTTP status.
            code = error.get("code") if isinstance(error, dict) else None
            status = code if isinstance(code, int) and 400 <= code < 600 else 500
            return self.error_event(status, chunk)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            self._usage = map_usage(usage)
        out = self._start(chunk.get("id"))
        choices = chunk.get("choices")
        if isinstance(choices, list) and choices:
            choice = choices[0]
            if isinstance(choice, dict) and choice.get("index") in (0, None):
                out += self._feed_choice(choice)
        elif self._finish_seen and self._usage is not None:
            out += self._close()
        return out

    def finish(self) -> bytes:
        """The closing events; safe without a finish_reason, without usage and without any chunk."""
        if self._closed:
            return b""
        return self._start(None) + self._close()

    def error_event(self, status: int, openai_error_body: dict[str, Any]) -> bytes:
        """An ``event: error`` for a failure after the response has started; ends the stream."""
        if self._closed:
            return b""
        self._closed = True
        return sse("error", error_to_anthropic(status, openai_error_body))

    # --- message framing ----------------------------------------------------------------------------------

    def _start(self, chunk_id: Any) -> bytes:
        if self._started:
            return b""
        self._started = True
        usage = self._usage or map_usage(None)
        message: JSON = {
            "id": self._message_id or message_id(chunk_id),
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage,
        }
        start = sse("message_start", {"type": "message_start", "message": message})
        return start + sse("ping", {"type": "ping"})

    def _close(self) -> bytes:
        self._closed = True
        stop_reason = map_stop_reason(
            self._finish_reason, has_tool_use=self._saw_tool_use, stop_sequence=self._stop_sequence
        )
        delta = {"stop_reason": stop_reason, "stop_sequence": self._stop_sequence}
        # Unknown usage: output_tokens is required; omitting the rest keeps message_start's values.
        usage = self._usage if self._usage is not None else {"output_tokens": 0}
        return (
            self._close_block()
            + sse("message_delta", {"type": "message_delta", "delta": delta, "usage": usage})
            + sse("message_stop", {"type": "message_stop"})
        )

    # --- content blocks -----------------------------------------------------------------------------------

    def _feed_choice(self, choice: JSON) -> bytes:
        out = b""
        delta = choice.get("delta")
        if isinstance(delta, dict):
            text = delta.get("content")
            if isinstance(text, str) and text:
                out += self._text(text)
            tool_calls = delta.get("tool_calls")
            if isinstance(tool_calls, list):
                for call in tool_calls:
                    if isinstance(call, dict):
                        out += self._tool_fragment(call)
        finish_reason = choice.get("finish_reason")
        if isinstance(finish_reason, str) and finish_reason:
            self._finish_seen = True
            self._finish_reason = finish_reason
            self._stop_sequence = matched_stop_sequence(choice, self._stop_sequences)
            # Nothing follows in this choice: let the client see the block complete before usage arrives.
            out += self._close_block()
        return out

    def _text(self, text: str) -> bytes:
        out = b""
        if self._open_block != "text":
            out = self._close_block() + self._open({"type": "text", "text": ""}, "text")
        delta = {"type": "text_delta", "text": text}
        event = {"type": "content_block_delta", "index": self._next_index - 1, "delta": delta}
        return out + sse("content_block_delta", event)

    def _tool_fragment(self, call: JSON) -> bytes:
        index = call.get("index")
        index = index if isinstance(index, int) else None
        call_id = call.get("id")
        call_id = call_id if isinstance(call_id, str) and call_id else None
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        out = b""
        if self._is_new_tool(index, call_id):
            name = function.get("name")
            block = {
                "type": "tool_use",
                "id": call_id or new_tool_id(),
                "name": name if isinstance(name, str) else "",
                "input": {},
            }
            out = self._close_block() + self._open(block, "tool_use")
            self._tool_index, self._tool_upstream_id = index, call_id
            self._saw_tool_use = True
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            delta = {"type": "input_json_delta", "partial_json": arguments}
            event = {"type": "content_block_delta", "index": self._next_index - 1, "delta": delta}
            out += sse("content_block_delta", event)
        return out

    def _is_new_tool(self, index: int | None, call_id: str | None) -> bool:
        if self._open_block != "tool_use":
            return True
        if index is not None and index != self._tool_index:
            return True
        # Gemini's OpenAI endpoint numbers parallel calls all 0; a new id is the only sign of a new call.
        previous = self._tool_upstream_id
        return call_id is not None and previous is not None and call_id != previous

    def _open(self, block: JSON, kind: str) -> bytes:
        event = {"type": "content_block_start", "index": self._next_index, "content_block": block}
        self._next_index += 1
        self._open_block = kind
        return sse("content_block_start", event)

    def _close_block(self) -> bytes:
        if self._open_block is None:
            return b""
        self._open_block = None
        return sse("content_block_stop", {"type": "content_block_stop", "index": self._next_index - 1})
