"""The stream filter on Responses events alone (a unit test of one piece): the events are written by the gateway's
own chat -> Responses translator, as both kinds of deployment send them on the pipeline."""

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
from gateway.guardrails.responses_stream import Repeats
from gateway.guardrails.stream import GuardedStream, window_for
from gateway.pipeline.context import RequestContext
from gateway.responses_compat import ChatToResponseStream

SECRET = "AKIAIOSFODNN7EXAMPLE"


def _filter(guardrail: dict[str, Any], vault: Vault | None = None) -> Repeats:
    section = GuardrailsSection(policies=[{"name": "p", "output": [guardrail]}], default=["p"])
    output = load_policies(section, lambda spec: build_detector(spec.type, spec.options, None))["p"].output
    ctx = RequestContext(request_id="r1", endpoint="responses", body={}, model="m", stream=True)
    vault = vault or Vault()
    return Repeats(GuardedStream(ctx, output, vault, STREAM_TEXT["responses"], window_for(output, vault, 0)))


def _events(chunks: list[dict[str, Any]]) -> list[list[bytes]]:
    """One batch of events per chat delta, then the closing batch."""
    translator = ChatToResponseStream({"model": "m"}, "resp_1", "m")
    batches = [translator.feed({"choices": [{"index": 0, "delta": delta}]}) for delta in chunks]
    return [*batches, translator.finish()]


def _tool(arguments: str) -> dict[str, Any]:
    return {"tool_calls": [{"index": 0, "id": "call_1", "function": {"name": "f", "arguments": arguments}}]}


async def _run(stream: Repeats, batches: list[list[bytes]]) -> list[list[dict[str, Any]]]:
    out = [[orjson.loads(p) for p in await stream.feed(batch)] for batch in batches]
    return [*out, [orjson.loads(p) for p in await stream.end()]]


def _kinds(events: list[dict[str, Any]]) -> list[str]:
    return [event["type"] for event in events]


async def test_text_goes_out_before_the_stream_ends_and_a_split_value_is_redacted_everywhere() -> None:
    tail = ["and then some more words "] * 20  # 500 characters: more than the email's window (320)
    words = ["Write ", "to ada.love", "lace@example.org ", "today ", *tail]
    stream = _filter({"type": "pii", "action": "redact", "entities": ["email"]})
    out = await _run(stream, _events([{"content": word} for word in words]))
    assert "response.output_text.delta" in _kinds(out[-5])  # released once the window passed, not at the end
    events = [event for batch in out for event in batch]
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == "Write to <EMAIL> today " + "".join(tail)
    done = next(e for e in events if e["type"] == "response.output_text.done")
    part = next(e for e in events if e["type"] == "response.content_part.done")
    completed = events[-1]["response"]["output"][0]["content"][0]["text"]
    assert done["text"] == part["part"]["text"] == completed == deltas
    assert "ada.lovelace" not in orjson.dumps(events).decode()


async def test_masked_values_are_restored_in_the_whole_copies_too() -> None:
    vault = Vault()
    token = vault.placeholder("email", "ada@example.org")
    stream = _filter({"type": "secrets", "action": "block"}, vault)
    out = await _run(stream, _events([{"content": "Echo: "}, {"content": token}, {"content": " ok"}]))
    events = [event for batch in out for event in batch]
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Echo: ada@example.org ok"
    assert token not in orjson.dumps(events).decode()


async def test_function_call_arguments_are_held_until_the_call_is_done() -> None:
    stream = _filter({"type": "secrets", "action": "block"})
    batches = _events([_tool('{"city": '), _tool('"Paris"}'), {"content": "Done."}])  # the text closes the call
    first = await stream.feed(batches[0])
    assert "response.function_call_arguments.delta" not in _kinds([orjson.loads(p) for p in first])
    assert "response.created" in _kinds([orjson.loads(p) for p in first])  # what carries no text is not held
    assert await stream.feed(batches[1]) == []
    decided = _kinds([orjson.loads(p) for p in await stream.feed(batches[2])])  # has the call's output_item.done
    assert decided.count("response.function_call_arguments.delta") == 2
    assert "response.output_text.delta" not in decided  # the text after it waits for its own window
    closing = [orjson.loads(p) for p in await stream.feed(batches[3]) + await stream.end()]
    assert closing[-1]["response"]["output"][0]["arguments"] == '{"city": "Paris"}'


async def test_a_secret_in_function_call_arguments_blocks_before_any_of_them_goes_out() -> None:
    stream = _filter({"type": "secrets", "action": "block"})
    batches = _events([_tool('{"key": "' + SECRET[:8]), _tool(SECRET[8:] + '"}')])
    released = await stream.feed(batches[0])
    with pytest.raises(GuardrailViolation) as raised:
        await stream.feed(batches[1])
    assert "aws_access_key" in raised.value.message
    assert SECRET[:8].encode() not in b"".join(released)


async def test_events_without_text_pass_unchanged() -> None:
    stream = _filter({"type": "pii", "action": "redact", "entities": ["email"]})
    batches = _events([{"content": "nothing to see"}])
    out = [payload for batch in batches for payload in await stream.feed(batch)] + await stream.end()
    assert out == [payload for batch in batches for payload in batch]
