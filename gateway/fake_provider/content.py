"""Deterministic reply content shared by the OpenAI and Anthropic shapes.

The contract: the same request always yields the same text, tool call and token
counts. A "word" is a whitespace-separated run; it is also the fake's token, so
``max_tokens`` keeps at most that many words and usage counts words. Streams send
one *piece* per word: the word with the whitespace before it, so the pieces joined
give back the text exactly.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson

Json = dict[str, Any]
# Why it stopped, independent of API: maps to finish_reason / stop_reason.
Finish = Literal["end", "stop_sequence", "length"]

# A word with its leading whitespace; the last one also keeps trailing whitespace.
_PIECE = re.compile(r"\s*\S+(?:\s+$)?")
_MAX_SCHEMA_DEPTH = 16
_ARGUMENT_FRAGMENT = 16


@dataclass(frozen=True, slots=True)
class Limited:
    """Reply text after ``stop`` sequences and the word budget were applied."""

    text: str
    finish: Finish
    stop_sequence: str | None = None


@dataclass(frozen=True, slots=True)
class Frames:
    """A server-sent-events body; ``frames[:preamble]`` precede the first content chunk."""

    frames: list[bytes]
    preamble: int


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One synthesised tool call; ``arguments`` is ``value`` as compact JSON."""

    id_suffix: str
    name: str
    value: Any
    arguments: str


def digest(raw: bytes) -> str:
    """A short stable hash of the raw request body, used for every id in the reply."""
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


def pieces(text: str) -> list[str]:
    found: list[str] = _PIECE.findall(text)
    if found or not text:
        return found
    return [text]  # whitespace only: still one piece so nothing is lost


def word_count(text: str) -> int:
    return len(text.split())


def apply_limits(text: str, max_words: int | None, stops: Sequence[str]) -> Limited:
    """Cut at the earliest stop sequence, then keep at most ``max_words`` words."""
    matched: str | None = None
    cut = len(text)
    for stop in stops:
        position = text.find(stop) if stop else -1
        if 0 <= position < cut:
            cut, matched = position, stop
    if matched is not None:
        text = text[:cut]
    if max_words is not None:
        parts = pieces(text)
        if len(parts) > max_words:
            return Limited("".join(parts[:max_words]), "length")
    return Limited(text, "end") if matched is None else Limited(text, "stop_sequence", matched)


def as_stops(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def as_limit(*values: Any) -> int | None:
    """The first usable integer among the request's token-limit fields."""
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def block_text(content: Any) -> str:
    """Text of a message content: a string, or the text parts of a list, space-joined."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        part["text"]
        for part in content
        if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str)
    ]
    return " ".join(texts)


def synthesize(schema: Any, text: str, root: Any = None, depth: int = 0) -> Any:
    """A JSON value that fits ``schema``: strings get ``text``, numbers 1, booleans true."""
    if not isinstance(schema, Mapping) or depth > _MAX_SCHEMA_DEPTH:
        return text
    root = schema if root is None else root
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[0]
    if "const" in schema:
        return schema["const"]
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return synthesize(_resolve_ref(root, ref), text, root, depth + 1)
    for combinator in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combinator)
        if isinstance(options, list) and options:
            return synthesize(_first_non_null(options), text, root, depth + 1)
    kind = _schema_type(schema)
    if kind == "object":
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        return {name: synthesize(sub, text, root, depth + 1) for name, sub in properties.items()}
    if kind == "array":
        return []
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    return text


def make_tool_call(name: str, schema: Any, text: str, conversation: Any) -> ToolCall:
    """A call to ``name``; its id hashes the conversation so streamed and plain replies agree."""
    value = synthesize(schema, text) if schema is not None else {}
    arguments = orjson.dumps(value).decode()
    seed = orjson.dumps([conversation, name, arguments])
    return ToolCall(digest(seed), name, value, arguments)


def fragments(arguments: str) -> list[str]:
    """Fixed-size slices of tool arguments, the way a model streams them."""
    size = _ARGUMENT_FRAGMENT
    return [arguments[start : start + size] for start in range(0, len(arguments), size)] or [""]


def _schema_type(schema: Mapping[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        real = [item for item in kind if item != "null"]
        return str(real[0]) if real else "null"
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _first_non_null(options: list[Any]) -> Any:
    for option in options:
        if not (isinstance(option, Mapping) and option.get("type") == "null"):
            return option
    return options[0]


def _resolve_ref(root: Any, ref: str) -> Any:
    """Follow a local JSON pointer such as ``#/$defs/Address``; unknown refs give {}."""
    if not ref.startswith("#"):
        return {}
    node = root
    for token in ref[1:].split("/"):
        if not token:
            continue
        key = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            return {}
        node = node[key]
    return node
