"""The stream filter alone (a unit test of one piece): hold-back, split matches, tool calls, restoration."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from gateway.config.guardrails import GuardrailsSection
from gateway.errors import GuardrailViolation
from gateway.guardrails.detectors.registry import build_detector
from gateway.guardrails.extract import STREAM_TEXT
from gateway.guardrails.masking import Vault
from gateway.guardrails.policy import load_policies
from gateway.guardrails.stream import GuardedStream, window_for
from gateway.pipeline.context import RequestContext

SECRET = "AKIAIOSFODNN7EXAMPLE"


def _output(*guardrails: dict[str, Any]) -> GuardrailsSection:
    return GuardrailsSection(policies=[{"name": "p", "output": list(guardrails)}], default=["p"])


def _stream(section: GuardrailsSection, vault: Vault | None = None) -> tuple[GuardedStream, RequestContext]:
    policies = load_policies(section, lambda spec: build_detector(spec.type, spec.options, None))
    output = policies["p"].output
    ctx = RequestContext(request_id="r1", endpoint="chat", body={}, model="m", stream=True)
    vault = vault or Vault()
    return GuardedStream(ctx, output, vault, STREAM_TEXT["chat"], window_for(output, vault, 0)), ctx


def _chunk(content: str | None = None, finish: str | None = None, tool: str | None = None) -> bytes:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool is not None:
        delta["tool_calls"] = [{"index": 0, "function": {"arguments": tool}}]
    return orjson.dumps({"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})


def _text(payloads: list[bytes]) -> str:
    out = ""
    for payload in payloads:
        for choice in orjson.loads(payload)["choices"]:
            out += choice["delta"].get("content") or ""
    return out


async def _run(stream: GuardedStream, pieces: list[str]) -> tuple[str, list[int]]:
    """The text the client reads, and how many chunks went out after each feed."""
    out: list[bytes] = []
    counts = []
    for piece in pieces:
        released = await stream.feed([_chunk(piece)])
        counts.append(len(released))
        out += released
    out += await stream.feed([_chunk(finish="stop")])
    out += await stream.end()
    return _text(out), counts


async def test_a_secret_split_across_chunks_blocks_before_any_of_it_is_released() -> None:
    stream, ctx = _stream(_output({"type": "secrets", "action": "block"}))
    released = await stream.feed([_chunk("Here it is: " + SECRET[:7])])
    assert SECRET[:7] not in _text(released)
    with pytest.raises(GuardrailViolation) as raised:
        await stream.feed([_chunk(SECRET[7:] + " done")])
    assert SECRET not in raised.value.message and "aws_access_key" in raised.value.message
    assert ctx.guardrail_findings and ctx.guardrail_findings[0].action == "block"


@pytest.mark.parametrize("cut", range(1, 19))
async def test_a_redacted_card_split_anywhere_never_reaches_the_client(cut: int) -> None:
    card = "4111 1111 1111 1111"
    stream, _ = _stream(_output({"type": "pii", "action": "redact", "entities": ["credit_card"]}))
    text, _ = await _run(stream, ["Pay with ", card[:cut], card[cut:], " please."])
    assert text == "Pay with <CREDIT_CARD> please."


async def test_text_goes_out_once_the_window_has_passed_not_at_the_end() -> None:
    stream, _ = _stream(_output({"type": "secrets", "action": "block"}))
    words = [f"word{i} " for i in range(200)]
    text, counts = await _run(stream, words)
    assert text == "".join(words)
    assert sum(counts) > 150  # most chunks were released during the stream, before its end


async def test_masked_placeholders_are_restored_even_when_split() -> None:
    vault = Vault()
    token = vault.placeholder("email", "bob@example.com")
    stream, _ = _stream(_output({"type": "invisible_text", "action": "warn"}), vault)
    text, _ = await _run(stream, ["Write to ", token[:4], token[4:], " today."])
    assert text == "Write to bob@example.com today."


async def test_tool_call_arguments_are_held_until_checked() -> None:
    stream, _ = _stream(_output({"type": "secrets", "action": "block"}))
    first = await stream.feed([_chunk(tool='{"key": "AKIA')])
    assert first == []
    with pytest.raises(GuardrailViolation):  # as soon as the secret is whole; nothing of the call went out
        await stream.feed([_chunk(tool='IOSFODNN7EXAMPLE"}')])


async def test_clean_tool_calls_go_out_whole_at_their_end() -> None:
    stream, _ = _stream(_output({"type": "secrets", "action": "block"}))
    assert await stream.feed([_chunk(tool='{"city": ')]) == []
    assert await stream.feed([_chunk(tool='"Paris"}')]) == []
    released = await stream.feed([_chunk(finish="tool_calls")])
    assert len(released) == 3


async def test_an_invalid_json_answer_is_refused_before_the_finish_chunk() -> None:
    stream, ctx = _stream(_output({"type": "json_schema", "action": "block"}))
    ctx.body = {"response_format": {"type": "json_object"}}
    await stream.feed([_chunk('{"a": ')])
    with pytest.raises(GuardrailViolation) as raised:
        await stream.feed([_chunk(finish="stop")])
    assert "invalid_json" in raised.value.message
