"""Output guardrails on a stream, without holding the stream back.

Each choice's text is a channel; each tool call's arguments are another. A chunk goes on to the client as soon as
its text is decided: no finding can still start inside it. Text is decided once ``window`` more characters have
arrived after it (the longest span the guardrails report, so a match split across chunks is whole by then), or
when its choice finishes; a span found across the window's edge holds the text back to its start. So the first
token waits for ``window`` characters, never for the whole stream. Tool-call arguments are held until the call is
complete and checked whole, so a call never reaches the client before its verdict. Chunks keep their order.

``block`` raises (the stream then ends with an error event, and the held text never goes out); ``redact`` and
masked values' restoration rewrite the chunks being released (a placeholder split over two chunks goes out whole
in the first, and the rest is dropped from the next). Whole-text guardrails (JSON, injection, webhooks) judge a
channel when it closes: before its finish chunk goes out, after the text has.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import orjson

from gateway.guardrails.engine import Recorder, bound, run
from gateway.guardrails.extract import Json, Piece, Slot, finished_choices
from gateway.guardrails.masking import Edit, Vault, redaction, without_overlaps
from gateway.guardrails.policy import Guardrail
from gateway.pipeline.context import RequestContext


@dataclass(slots=True)
class Channel:
    windowed: bool  # False: tool-call arguments, decided only when complete
    text: str = ""
    released: int = 0  # the text up to here went to the client
    skip_to: int = 0  # an edit whose replacement went out already covers the text up to here
    safe: int = 0  # the text up to here is decided, and ``edits`` are final there
    edits: list[Edit] = field(default_factory=list)
    closed: bool = False


@dataclass(slots=True)
class Held:
    raw: bytes
    chunk: Json | None
    pieces: list[tuple[Channel, Slot, int, int]]  # channel, where in the chunk, span in the channel's text


class GuardedStream:
    """The stage's ``StreamFilter`` for one stream (see ``gateway.pipeline.stages.StreamFilter``)."""

    def __init__(
        self,
        ctx: RequestContext,
        guardrails: Sequence[Guardrail],
        vault: Vault,
        pieces_of: Callable[[Json], Iterator[Piece]],
        window: int,
    ) -> None:
        self._ctx = ctx
        self._spans = [g for g in guardrails if g.detector.spans and g.detector.max_length is not None]
        self._whole = [g for g in guardrails if g not in self._spans]
        self._vault = vault
        self._pieces_of = pieces_of
        self._window = window
        self._channels: dict[tuple[int, int], Channel] = {}
        self._held: deque[Held] = deque()
        self._rec = Recorder(ctx, "during_stream")

    async def feed(self, payloads: list[bytes]) -> list[bytes]:
        touched: dict[int, Channel] = {}
        for raw in payloads:
            for channel in self._take(raw):
                touched[id(channel)] = channel
        for channel in touched.values():
            await self._decide(channel)
        return self._release()

    async def end(self) -> list[bytes]:
        for channel in self._channels.values():
            if not channel.closed:
                channel.closed = True
                await self._decide(channel)
        return self._release()

    def _take(self, raw: bytes) -> list[Channel]:
        try:
            chunk = orjson.loads(raw)
        except orjson.JSONDecodeError:
            chunk = None
        if not isinstance(chunk, dict):
            self._held.append(Held(raw, None, []))
            return []
        pieces: list[tuple[Channel, Slot, int, int]] = []
        touched: list[Channel] = []
        for piece in self._pieces_of(chunk):
            channel = self._channels.get(piece.channel)
            if channel is None:
                channel = self._channels[piece.channel] = Channel(windowed=piece.channel[1] == -1)
            start = len(channel.text)
            channel.text += piece.slot.text
            pieces.append((channel, piece.slot, start, len(channel.text)))
            touched.append(channel)
        for choice in finished_choices(chunk):
            for key, channel in self._channels.items():
                if key[0] == choice and not channel.closed:
                    channel.closed = True
                    touched.append(channel)
        self._held.append(Held(raw, chunk, pieces))
        return touched

    async def _decide(self, channel: Channel) -> None:
        start = max(channel.released, channel.skip_to)
        region = channel.text[start:]
        edits: list[Edit] = []
        for guardrail in self._spans:
            matches = (await run(guardrail, guardrail.detector, [region], self._rec))[0]
            if not matches:
                continue
            if guardrail.action == "block":
                raise self._rec.block(guardrail, [m.entity for m in matches])
            action = "warn" if guardrail.action == "warn" else "redact"
            for match in matches:
                self._rec.add(guardrail, action, match.entity)
            if action == "redact":
                edits += [Edit(start + m.start, start + m.end, redaction(m.entity)) for m in matches if not m.whole]
        edits += [Edit(start + e.start, start + e.end, e.replacement) for e in self._vault.restorations(region)]
        edits = without_overlaps(edits)
        if channel.closed:
            await self._judge_whole(channel)
            safe = len(channel.text)
        elif not channel.windowed:
            safe = start
        else:
            safe = max(start, len(channel.text) - self._window)
            for edit in edits:
                if edit.start < safe < edit.end:
                    safe = edit.start
        channel.safe = safe
        channel.edits = [e for e in edits if e.end <= safe]

    async def _judge_whole(self, channel: Channel) -> None:
        for guardrail in self._whole:
            detector = bound(guardrail.detector, self._ctx.body)
            if detector is None:
                continue
            found = [m.entity for m in (await run(guardrail, detector, [channel.text], self._rec))[0]]
            if found and guardrail.action == "block":
                raise self._rec.block(guardrail, found)
            for entity in found:
                self._rec.add(guardrail, "warn", entity)

    def _release(self) -> list[bytes]:
        out: list[bytes] = []
        while self._held and all(end <= channel.safe for channel, _, _, end in self._held[0].pieces):
            held = self._held.popleft()
            changed = False
            for channel, slot, start, end in held.pieces:
                text = _rewritten(channel, start, end)
                channel.released = end
                if text != slot.text:
                    slot.set(text)
                    changed = True
            out.append(orjson.dumps(held.chunk) if changed else held.raw)
        return out


def _rewritten(channel: Channel, start: int, end: int) -> str:
    """The channel's text ``[start, end)`` as the client gets it: edits applied; the tail of an edit whose
    replacement went out in an earlier chunk dropped."""
    text = channel.text
    at = max(start, min(channel.skip_to, end))
    parts: list[str] = []
    for edit in channel.edits:
        if edit.end <= start or edit.start >= end or edit.start < start:
            continue
        parts += [text[at : edit.start], edit.replacement]
        at = min(edit.end, end)
        if edit.end > end:
            channel.skip_to = edit.end
    parts.append(text[at:end])
    return "".join(parts)


def window_for(guardrails: Sequence[Guardrail], vault: Vault, configured: int) -> int:
    """The hold-back window: the configured one, or the longest span any guardrail (or placeholder) can have."""
    if configured:
        return configured
    lengths = [g.detector.max_length or 0 for g in guardrails if g.detector.spans]
    return max([*lengths, vault.longest, 1])
