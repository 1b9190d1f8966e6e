"""The pure parts: word pieces, limits, schema synthesis, magic model names and the fault registry."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.fake_provider.content import Limited, apply_limits, pieces, synthesize
from gateway.fake_provider.faults import FaultAction, FaultRegistry, FaultSpecError, model_fault


@pytest.mark.parametrize(
    "text",
    ["Echo: a b", "  leading", "trailing  ", "tabs\tand\nnewlines", "", "   ", "ünïcode wörds ✓"],
)
def test_pieces_rejoin_to_the_text(text: str) -> None:
    assert "".join(pieces(text)) == text


def test_pieces_keep_leading_whitespace() -> None:
    assert pieces("Echo: hi  there") == ["Echo:", " hi", "  there"]


def test_limits() -> None:
    assert apply_limits("a b c", None, []).finish == "end"
    # the stop sequence applies first; the word budget still cuts what is left
    assert apply_limits("a b c d", 1, [" c"]) == Limited("a", "length")
    assert apply_limits("a b c", 2, []).text == "a b"
    assert apply_limits("a b c", 3, []).finish == "end"
    stopped = apply_limits("a b c d", 10, ["d", " b"])
    assert (stopped.text, stopped.finish, stopped.stop_sequence) == ("a", "stop_sequence", " b")
    assert apply_limits("a b c", 0, []).text == ""
    assert apply_limits("a b", None, [""]).finish == "end"  # an empty stop never matches


def test_synthesize_follows_refs_and_combinators() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "number"}}}},
        "properties": {
            "point": {"$ref": "#/$defs/Point"},
            "maybe": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
            "either": {"type": ["null", "boolean"]},
            "fixed": {"const": "c"},
            "missing": {"$ref": "#/$defs/Nope"},
            "untyped": {},
            "nothing": {"type": "null"},
        },
    }
    assert synthesize(schema, "T") == {
        "point": {"x": 1},
        "maybe": 1,
        "either": True,
        "fixed": "c",
        "missing": "T",
        "untyped": "T",
        "nothing": None,
    }


def test_synthesize_stops_on_recursive_schemas() -> None:
    schema = {"type": "object", "properties": {"next": {"$ref": "#"}}}
    value = synthesize(schema, "T")
    depth = 0
    while isinstance(value, dict):
        value, depth = value["next"], depth + 1
    assert value == "T" and 2 < depth < 30


@pytest.mark.parametrize(
    ("model", "action"),
    [
        ("fail-503", FaultAction("status", status=503, retry_after=0)),
        ("fail-429-x", FaultAction("status", status=429, retry_after=0)),
        ("fail-500", FaultAction("status", status=500)),
        ("slow-5000", FaultAction("latency", latency_ms=5000)),
        ("cut-0", FaultAction("cut", after_chunks=0)),
        ("fail-200", None),
        ("fail-", None),
        ("slow-fast", None),
        ("gpt-4o", None),
        ("myfail-503", None),
    ],
)
def test_model_fault(model: str, action: FaultAction | None) -> None:
    assert model_fault(model) == action


def test_registry_counts_down_and_keeps_order() -> None:
    registry = FaultRegistry()
    first = registry.add({"kind": "status", "status": 500, "count": 1, "model": "m"})
    registry.add({"kind": "latency", "latency_ms": 5, "path": "/v1/embeddings"})
    assert registry.take("/v1/chat/completions", "other") is None
    assert registry.take("/v1/chat/completions", "m") == first.action
    assert registry.take("/v1/chat/completions", "m") is None
    assert registry.take("/v1/embeddings", "m") == FaultAction("latency", latency_ms=5)
    assert [fault["hits"] for fault in registry.describe()] == [1]


def test_timeout_defaults_to_a_minute() -> None:
    assert FaultRegistry().add({"kind": "timeout"}).action.latency_ms == 60_000


@pytest.mark.parametrize("spec", [{}, {"kind": "cut", "after_chunks": -1}, {"kind": "status", "count": True}])
def test_registry_rejects_bad_specs(spec: dict[str, Any]) -> None:
    with pytest.raises(FaultSpecError):
        FaultRegistry().add(spec)
