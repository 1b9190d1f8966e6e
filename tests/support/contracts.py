"""Validate gateway responses against OpenAI's own OpenAPI description.

The spec is vendored in the repository, at ``tests/contracts/openai-openapi.yaml`` beside its MIT licence
(``openai-openapi.LICENSE``), so a clone alone runs the contract tests; nothing is read from outside the
repository. It is ~3 MB of YAML, so it is parsed lazily, once per process (``functools.cache``), with
libyaml's ``CSafeLoader`` when present.
Validators are built once per (schema name, relaxations) pair and cached, so calling :func:`validate` in
hundreds of tests is cheap.

Public API::

    validate(schema_name, instance, *, relax=())             # raises AssertionError listing the errors
    validate_sse_chat_stream(raw, *, relax=()) -> chunks      # CreateChatCompletionStreamResponse per chunk
    validate_sse_completion_stream(raw, *, relax=()) -> chunks  # CreateCompletionResponse per chunk
    schema_names() -> list[str]                              # every name under #/components/schemas
    schema(schema_name) -> dict                              # the (normalised) schema, for inspection
    spec_path() -> Path

How the spec is written, and what we do about it
------------------------------------------------
* It declares ``openapi: 3.1.0`` and mostly uses JSON Schema 2020-12 idioms (``anyOf: [..., {type: 'null'}]``),
  so validation uses ``Draft202012Validator`` without a format checker (``format: unixtime`` etc. are
  annotations only). ``$ref: '#/components/schemas/X'`` is resolved through a ``referencing.Registry``
  holding the whole document as one Draft 2020-12 resource.
* It still carries ~100 OpenAPI 3.0 leftovers that a 2020-12 validator would silently ignore or misread.
  They are translated (not loosened) when the document is loaded, inside ``#/components/schemas`` only:

  - ``nullable: true`` -> ``type: [T, 'null']`` (plus ``null`` appended to ``enum``, which is what the
    authors mean, e.g. ``finish_reason`` of stream chunks), or ``anyOf: [<schema>, {type: 'null'}]`` when
    the schema is a ``$ref``/combinator (e.g. ``usage`` of stream chunks). ``nullable: false`` is dropped.
  - the 3.0 idiom ``allOf: [{$ref: X}, {nullable: true}]`` -> nullable ``allOf: [{$ref: X}]``.
  - boolean ``exclusiveMinimum``/``exclusiveMaximum`` (3.0) -> numeric 2020-12 form (fine-tuning schemas).
  - Draft 2019-09 ``$recursiveAnchor: true`` + ``$recursiveRef: '#'`` (``CompoundFilter``) -> a plain ``$ref``
    to the enclosing component (2020-12 ignores ``$recursiveRef``; in one $id-less document ``#`` would
    otherwise mean the document root).

Known spec quirks (genuine api.openai.com responses that the spec rejects)
--------------------------------------------------------------------------
Validation is strict by default. Each quirk below has an explicit, narrowly scoped relaxation that a test
must opt into via ``relax={...}``; nothing else is loosened.

``"null_system_fingerprint"``
    The API returns ``"system_fingerprint": null`` for some models (openai/openai-openapi#175,
    openai/openai-python#720), but the spec types it as a plain ``string`` on ``CreateChatCompletionResponse``,
    ``CreateChatCompletionStreamResponse`` and ``CreateCompletionResponse``. Relaxation: that one property, on
    those three schemas, may also be ``null``. (Omitting the field is always valid.)
``"completion_stream_null_finish_reason"``
    The spec says legacy ``/v1/completions`` stream chunks have the ``CreateCompletionResponse`` shape, whose
    ``choices[].finish_reason`` is a required, non-null enum; the real API sends ``"finish_reason": null`` on
    every chunk but the last (openai/openai-openapi#100). Relaxation: that property may be ``null``.
    :func:`validate_sse_completion_stream` still requires that the last chunk of every choice carries a
    non-null ``finish_reason``.
``"base64_embedding"``
    With ``encoding_format: "base64"`` (which the official ``openai`` Python SDK requests by default) each
    ``data[].embedding`` is a base64 string, but ``Embedding.embedding`` only allows an array of numbers.
    Relaxation: ``Embedding.embedding`` may also be a string.

Beyond the per-chunk schema checks, the SSE helpers enforce the stream framing that OpenAI clients rely on:
every event is terminated by a blank line, the body contains at least one chunk, it ends with exactly one
``data: [DONE]`` event, and every choice ``index`` seen ends with a non-null ``finish_reason``.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final, Literal, get_args

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry
from referencing.jsonschema import DRAFT202012

__all__ = [
    "MAX_REPORTED_ERRORS",
    "RELAXATIONS",
    "SPEC_PATH",
    "Relaxation",
    "schema",
    "schema_names",
    "spec_path",
    "validate",
    "validate_sse_chat_stream",
    "validate_sse_completion_stream",
    "validate_sse_responses_stream",
]

#: OpenAI's published OpenAPI document (MIT), vendored with its licence. Tests of this module point it elsewhere.
SPEC_PATH: Path = Path(__file__).resolve().parents[1] / "contracts" / "openai-openapi.yaml"
MAX_REPORTED_ERRORS: Final = 10

Relaxation = Literal["null_system_fingerprint", "completion_stream_null_finish_reason", "base64_embedding"]
RELAXATIONS: Final[frozenset[str]] = frozenset(get_args(Relaxation))

CHAT_STREAM_SCHEMA: Final = "CreateChatCompletionStreamResponse"
COMPLETION_STREAM_SCHEMA: Final = "CreateCompletionResponse"

_SPEC_URI: Final = "urn:openai-openapi"
_MESSAGE_LIMIT: Final = 240

# Where each relaxation applies (paths below #/components/schemas) and the extra alternative it admits.
_RELAXATION_PATCHES: Final[dict[str, tuple[dict[str, Any], tuple[tuple[str, ...], ...]]]] = {
    "null_system_fingerprint": (
        {"type": "null"},
        (
            ("CreateChatCompletionResponse", "properties", "system_fingerprint"),
            ("CreateChatCompletionStreamResponse", "properties", "system_fingerprint"),
            ("CreateCompletionResponse", "properties", "system_fingerprint"),
        ),
    ),
    "completion_stream_null_finish_reason": (
        {"type": "null"},
        (("CreateCompletionResponse", "properties", "choices", "items", "properties", "finish_reason"),),
    ),
    "base64_embedding": ({"type": "string"}, (("Embedding", "properties", "embedding"),)),
}

# --------------------------------------------------------------------------------------------------------
# Locating and loading the spec
# --------------------------------------------------------------------------------------------------------


def spec_path() -> Path:
    """Path of the OpenAPI document: ``tests/contracts/openai-openapi.yaml`` in this repository."""
    return SPEC_PATH


def _current_spec() -> str:
    return str(spec_path())


@functools.cache
def _load_document(path: str) -> dict[str, Any]:
    """Parse the spec once and translate its OpenAPI 3.0 leftovers (see module docstring)."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"OpenAI OpenAPI spec not found at {file}. It is part of the repository (tests/contracts/); "
            "restore it with `git checkout -- tests/contracts/`."
        )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with file.open("rb") as fh:
        document = yaml.load(fh, Loader=loader)
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith(("3.0", "3.1")):
        raise ValueError(f"{file} is not an OpenAPI 3.0/3.1 document")
    schemas = document.get("components", {}).get("schemas")
    if not isinstance(schemas, dict):
        raise ValueError(f"{file} has no #/components/schemas")
    document["components"]["schemas"] = {
        name: _normalise(node, f"#/components/schemas/{_pointer_escape(name)}") for name, node in schemas.items()
    }
    return document


# Keywords whose value is a schema / a list of schemas / a map of name -> schema.
_SUBSCHEMA: Final = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedItems",
    "unevaluatedProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
)
_SUBSCHEMA_LIST: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAP: Final = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_COMBINATORS: Final = ("$ref", "allOf", "anyOf", "oneOf", "not", "const")
_ANNOTATIONS: Final = frozenset(
    {
        "title",
        "description",
        "default",
        "example",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "externalDocs",
        "discriminator",
        "xml",
    }
)


def _is_annotation(keyword: str) -> bool:
    return keyword in _ANNOTATIONS or keyword.startswith("x-")


def _is_bare_nullable(node: object) -> bool:
    return (
        isinstance(node, dict)
        and isinstance(node.get("nullable"), bool)
        and all(key == "nullable" or _is_annotation(key) for key in node)
    )


def _pointer_escape(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def _normalise(node: Any, home: str) -> Any:
    """Return a copy of schema ``node`` with OpenAPI 3.0 / 2019-09 constructs expressed in 2020-12.

    ``home`` is the JSON pointer of the component that contains ``node``.
    """
    if not isinstance(node, dict):
        return node  # boolean schema
    node = dict(node)
    node.pop("$recursiveAnchor", None)
    if node.get("$recursiveRef") == "#":
        del node["$recursiveRef"]
        node["$ref"] = home
    flag = node.pop("nullable", None)
    nullable = flag is True

    all_of = node.get("allOf")
    if isinstance(all_of, list) and any(_is_bare_nullable(member) for member in all_of):
        nullable = nullable or any(_is_bare_nullable(m) and m["nullable"] is True for m in all_of)
        kept = [member for member in all_of if not _is_bare_nullable(member)]
        if kept:
            node["allOf"] = kept
        else:
            del node["allOf"]

    for keyword in _SUBSCHEMA:
        if keyword in node:
            node[keyword] = _normalise(node[keyword], home)
    for keyword in _SUBSCHEMA_LIST:
        if isinstance(node.get(keyword), list):
            node[keyword] = [_normalise(member, home) for member in node[keyword]]
    for keyword in _SUBSCHEMA_MAP:
        if isinstance(node.get(keyword), dict):
            node[keyword] = {name: _normalise(member, home) for name, member in node[keyword].items()}

    required = node.get("required")
    if isinstance(required, list) and len(set(required)) != len(required):
        node["required"] = list(dict.fromkeys(required))  # e.g. ContainerResource lists names twice

    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = node.get(exclusive)
        if isinstance(value, bool):
            del node[exclusive]
            if value and bound in node:
                node[exclusive] = node.pop(bound)

    return _make_nullable(node) if nullable else node


def _make_nullable(node: dict[str, Any]) -> dict[str, Any]:
    if all(_is_annotation(key) for key in node):
        return node  # no constraints at all: null is already accepted
    kind = node.get("type")
    if isinstance(kind, str) and not any(keyword in node for keyword in _COMBINATORS):
        if kind != "null":
            node["type"] = [kind, "null"]
        if isinstance(node.get("enum"), list) and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        return node
    return {"anyOf": [node, {"type": "null"}]}


# --------------------------------------------------------------------------------------------------------
# Registry and validators
# --------------------------------------------------------------------------------------------------------


def _relax_key(relax: Iterable[str]) -> frozenset[str]:
    names = frozenset((relax,) if isinstance(relax, str) else relax)
    unknown = names - RELAXATIONS
    if unknown:
        raise ValueError(f"unknown relaxation(s) {sorted(unknown)}; known: {sorted(RELAXATIONS)}")
    return names


def _replace_at(
    node: Mapping[str, Any], path: tuple[str, ...], change: Callable[[Any], Any], where: str
) -> dict[str, Any]:
    """Copy-on-write replacement of ``node[path]``: only the dicts along ``path`` are copied."""
    head, rest = path[0], path[1:]
    if not isinstance(node, Mapping) or head not in node:
        raise KeyError(f"spec layout changed: {where} not found (relaxation needs review)")
    copy = dict(node)
    copy[head] = change(node[head]) if not rest else _replace_at(node[head], rest, change, where)
    return copy


@functools.cache
def _registry(path: str, relax: frozenset[str]) -> Registry[Any]:
    document: dict[str, Any] = _load_document(path)
    for name in sorted(relax):
        alternative, targets = _RELAXATION_PATCHES[name]
        for target in targets:

            def widen(original: Any, alternative: dict[str, Any] = alternative) -> dict[str, Any]:
                return {"anyOf": [original, alternative]}

            where = "#/components/schemas/" + "/".join(target)
            document = _replace_at(document, ("components", "schemas", *target), widen, where)
    registry: Registry[Any] = Registry().with_resource(_SPEC_URI, DRAFT202012.create_resource(document))
    return registry


@functools.cache
def _validator(path: str, schema_name: str, relax: frozenset[str]) -> Draft202012Validator:
    schemas = _load_document(path)["components"]["schemas"]
    if schema_name not in schemas:
        close = difflib.get_close_matches(schema_name, list(schemas), n=5)
        raise KeyError(f"no schema {schema_name!r} in {path}; close matches: {close}")
    return Draft202012Validator(
        {"$ref": f"{_SPEC_URI}#/components/schemas/{_pointer_escape(schema_name)}"},
        registry=_registry(path, relax),
        format_checker=None,
    )


def schema_names() -> list[str]:
    """Sorted names of every schema under ``#/components/schemas``."""
    return sorted(_load_document(_current_spec())["components"]["schemas"])


def schema(schema_name: str) -> dict[str, Any]:
    """The normalised schema for ``schema_name`` (``$ref``s left unresolved). Do not mutate it."""
    schemas: dict[str, Any] = _load_document(_current_spec())["components"]["schemas"]
    if schema_name not in schemas:
        close = difflib.get_close_matches(schema_name, list(schemas), n=5)
        raise KeyError(f"no schema {schema_name!r}; close matches: {close}")
    result: dict[str, Any] = schemas[schema_name]
    return result


# --------------------------------------------------------------------------------------------------------
# Validation and reporting
# --------------------------------------------------------------------------------------------------------


def _shorten(text: str, limit: int = _MESSAGE_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: ValidationError) -> str:
    line = f"{error.json_path}: {_shorten(error.message)}"
    if error.context:
        closest = best_match(error.context)
        line += f"  [closest alternative: {closest.json_path}: {_shorten(closest.message)}]"
    return line


def _errors(schema_name: str, instance: object, relax: frozenset[str]) -> list[str]:
    validator = _validator(_current_spec(), schema_name, relax)
    errors = sorted(validator.iter_errors(instance), key=_error_order)
    return [_describe(error) for error in errors]


def _error_order(error: ValidationError) -> tuple[tuple[tuple[int, int, str], ...], str]:
    """Sort by instance path, with array indices in numeric order ($.choices[2] before $.choices[10])."""
    path = tuple((0, part, "") if isinstance(part, int) else (1, 0, str(part)) for part in error.absolute_path)
    return path, error.message


def _report(title: str, problems: list[str], hints: Iterable[str] = ()) -> str:
    shown = problems[:MAX_REPORTED_ERRORS]
    lines = [f"{title} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"]
    lines += [f"  - {problem}" for problem in shown]
    if len(problems) > len(shown):
        lines.append(f"  ... and {len(problems) - len(shown)} more")
    lines += [f"  hint: {hint}" for hint in hints]
    return "\n".join(lines)


def _hints(instances: Iterable[object], relax: frozenset[str]) -> list[str]:
    """Point at an opt-in relaxation when a failure matches a documented spec quirk."""
    hints: list[str] = []
    items = [item for item in instances if isinstance(item, dict)]
    if "null_system_fingerprint" not in relax and any(
        "system_fingerprint" in item and item["system_fingerprint"] is None for item in items
    ):
        hints.append(
            "system_fingerprint is null, which the API really sends but the spec forbids; "
            "opt in with relax={'null_system_fingerprint'} if that is intended"
        )
    if "completion_stream_null_finish_reason" not in relax and any(
        item.get("object") == "text_completion"
        and any(isinstance(c, dict) and c.get("finish_reason", "") is None for c in item.get("choices") or [])
        for item in items
    ):
        hints.append(
            "legacy completion streams send finish_reason=null before the last chunk, which the spec "
            "forbids; opt in with relax={'completion_stream_null_finish_reason'}"
        )
    if "base64_embedding" not in relax and any(
        item.get("object") == "list"
        and any(isinstance(d, dict) and isinstance(d.get("embedding"), str) for d in item.get("data") or [])
        for item in items
    ):
        hints.append(
            "base64 embeddings (encoding_format='base64') are real API output the spec forbids; "
            "opt in with relax={'base64_embedding'}"
        )
    return hints


def validate(schema_name: str, instance: object, *, relax: Iterable[Relaxation] = ()) -> None:
    """Assert that ``instance`` matches ``#/components/schemas/<schema_name>``.

    Raises ``AssertionError`` listing every violation (JSON path + message, the first
    ``MAX_REPORTED_ERRORS`` of them). ``relax`` opts into the documented spec-quirk relaxations.
    """
    __tracebackhide__ = True
    relaxations = _relax_key(relax)
    problems = _errors(schema_name, instance, relaxations)
    if problems:
        raise AssertionError(
            _report(f"response does not match {schema_name}", problems, _hints([instance], relaxations))
        )


# --------------------------------------------------------------------------------------------------------
# Server-sent event streams
# --------------------------------------------------------------------------------------------------------

_LINE_BREAK: Final = re.compile(r"\r\n|\r|\n")  # SSE line ends; str.splitlines() would also split U+2028


def _parse_sse(raw: bytes | str) -> tuple[list[str], bool]:
    """Return the ``data`` payload of every event, and whether the final event lacked its blank line."""
    text = bytes(raw).decode("utf-8") if isinstance(raw, bytes | bytearray | memoryview) else raw
    text = text.removeprefix("\ufeff")
    *lines, tail = _LINE_BREAK.split(text)
    if tail:
        lines.append(tail)  # an incomplete last line: keep it so the report can name it, but flag it
    payloads: list[str] = []
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                payloads.append("\n".join(data))
                data = []
            continue
        if line.startswith(":"):
            continue  # comment / keep-alive
        field, _, value = line.partition(":")
        if field == "data":
            data.append(value.removeprefix(" "))
    unterminated = bool(data)
    if data:
        payloads.append("\n".join(data))
    return payloads, unterminated


def _finish_problems(chunks: list[dict[str, Any]]) -> list[str]:
    last: dict[int, object] = {}
    for chunk in chunks:
        choices = chunk.get("choices")
        for choice in choices if isinstance(choices, list) else []:
            if isinstance(choice, dict) and isinstance(choice.get("index"), int):
                last[choice["index"]] = choice.get("finish_reason")
    return [
        f"choice index {index} never ends with a non-null finish_reason (last value: {reason!r})"
        for index, reason in sorted(last.items())
        if reason is None
    ]


def _validate_stream(raw: bytes | str, schema_name: str, relax: Iterable[str]) -> list[dict[str, Any]]:
    __tracebackhide__ = True
    relaxations = _relax_key(relax)
    payloads, unterminated = _parse_sse(raw)
    problems: list[str] = []
    done = [position for position, payload in enumerate(payloads) if payload == "[DONE]"]
    if not done:
        problems.append("stream does not end with a `data: [DONE]` event")
    elif done != [len(payloads) - 1]:
        problems.append(f"`data: [DONE]` must appear once, as the last event (found at events {done})")
    if unterminated:
        problems.append("the last event is not terminated by a blank line, so SSE clients never dispatch it")

    chunks: list[dict[str, Any]] = []
    for position, payload in enumerate(payloads):
        if payload == "[DONE]":
            continue
        try:
            chunk = json.loads(payload)
        except json.JSONDecodeError as exc:
            problems.append(f"event[{position}]: data is not JSON ({exc.msg}): {_shorten(payload, 80)!r}")
            continue
        if not isinstance(chunk, dict):
            problems.append(f"event[{position}]: data is not a JSON object: {_shorten(payload, 80)!r}")
            continue
        problems += [f"chunk[{len(chunks)}] {error}" for error in _errors(schema_name, chunk, relaxations)]
        chunks.append(chunk)
    if not chunks:
        problems.append("stream has no data chunks")
    problems += _finish_problems(chunks)
    if problems:
        title = f"SSE stream does not match {schema_name} + [DONE] framing"
        raise AssertionError(_report(title, problems, _hints(chunks, relaxations)))
    return chunks


def validate_sse_chat_stream(raw: bytes | str, *, relax: Iterable[Relaxation] = ()) -> list[dict[str, Any]]:
    """Validate a ``/v1/chat/completions`` ``stream=true`` body; return the parsed chunks (without [DONE])."""
    __tracebackhide__ = True
    return _validate_stream(raw, CHAT_STREAM_SCHEMA, relax)


def validate_sse_completion_stream(raw: bytes | str, *, relax: Iterable[Relaxation] = ()) -> list[dict[str, Any]]:
    """Validate a legacy ``/v1/completions`` ``stream=true`` body; return the parsed chunks.

    Real OpenAI streams need ``relax={"completion_stream_null_finish_reason"}`` (see module docstring).
    """
    __tracebackhide__ = True
    return _validate_stream(raw, COMPLETION_STREAM_SCHEMA, relax)


#: The events that end a Responses stream.
RESPONSES_STREAM_ENDS: Final = frozenset({"response.completed", "response.incomplete", "response.failed"})


@functools.cache
def _responses_event_schemas() -> dict[str, str]:
    """Event ``type`` -> the schema that describes it, from the members of ``ResponseStreamEvent``."""
    found: dict[str, str] = {}
    for member in schema("ResponseStreamEvent").get("anyOf", []):
        name = str(member.get("$ref", "")).rpartition("/")[2]
        kinds = schema(name).get("properties", {}).get("type", {}).get("enum", []) if name else []
        if len(kinds) == 1:
            found[kinds[0]] = name
    return found


def validate_sse_responses_stream(raw: bytes | str) -> list[dict[str, Any]]:
    """Validate a ``/v1/responses`` ``stream=true`` body; return the parsed events.

    Each event's data must match its own schema (by ``type``), ``sequence_number`` must rise from 0 by one, the
    first event is ``response.created`` and the last one ends the response (completed, incomplete or failed).
    An ``event:`` line, when present, must name the data's ``type``; there is no ``[DONE]``.
    """
    __tracebackhide__ = True
    text = bytes(raw).decode() if isinstance(raw, bytes | bytearray | memoryview) else raw
    names = [line[6:].strip() for line in _LINE_BREAK.split(text) if line.startswith("event:")]
    payloads, unterminated = _parse_sse(raw)
    problems = ["the last event is not terminated by a blank line"] if unterminated else []
    events = [json.loads(payload) for payload in payloads]
    schemas = _responses_event_schemas()
    for position, event in enumerate(events):
        kind = event.get("type")
        if kind not in schemas:
            problems.append(f"event[{position}]: unknown type {kind!r}")
            continue
        problems += [f"event[{position}] ({kind}) {error}" for error in _errors(schemas[kind], event, frozenset())]
        if event.get("sequence_number") != position:
            problems.append(f"event[{position}]: sequence_number {event.get('sequence_number')!r}")
    if names and names != [event.get("type") for event in events]:
        problems.append("the `event:` names differ from the data's types")
    if not events or events[0].get("type") != "response.created":
        problems.append("the stream does not start with response.created")
    elif events[-1].get("type") not in RESPONSES_STREAM_ENDS:
        problems.append(f"the stream ends with {events[-1].get('type')!r}, not an event that ends a response")
    if problems:
        raise AssertionError(_report("SSE stream does not match the Responses stream events", problems))
    return events
