"""Output checks for ``response_format``: the answer must be JSON (``json_object``), and conform to the request's
schema (``json_schema``). Schemas are compiled once with ``fastjsonschema`` (tens of microseconds a check, where
``jsonschema`` re-reading the schema costs milliseconds) and kept in a small cache keyed by the schema itself."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from typing import Any

import fastjsonschema
import orjson

from gateway.guardrails.detectors.base import Match

Validator = Callable[[Any], Any]
SCHEMA_CACHE = 256


@lru_cache(maxsize=SCHEMA_CACHE)
def compiled(schema_json: bytes) -> Validator:
    validator: Validator = fastjsonschema.compile(orjson.loads(schema_json))
    return validator


def schema_of(body: Mapping[str, Any]) -> tuple[bool, bytes | None]:
    """(whether the request asked for JSON, its schema as canonical JSON bytes or None)."""
    fmt = body.get("response_format")
    if not isinstance(fmt, dict):
        return False, None
    if fmt.get("type") == "json_object":
        return True, None
    spec = fmt.get("json_schema")
    if fmt.get("type") == "json_schema" and isinstance(spec, dict) and isinstance(spec.get("schema"), dict):
        return True, orjson.dumps(spec["schema"], option=orjson.OPT_SORT_KEYS)
    return False, None


class JsonDetector:
    """Judges the whole answer; bound to one request's ``response_format`` by ``bind``."""

    spans = False
    max_length: int | None = None

    def __init__(self, schema: bytes | None = None, wanted: bool = False) -> None:
        self._schema = schema
        self._wanted = wanted

    def bind(self, body: Mapping[str, Any]) -> JsonDetector | None:
        """The detector for one request, or None when it asked for no JSON (nothing to check)."""
        wanted, schema = schema_of(body)
        return JsonDetector(schema, wanted) if wanted else None

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        return [self._check(text) for text in texts]

    def _check(self, text: str) -> list[Match]:
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError:
            return [Match("invalid_json", whole=True)]
        if self._schema is None:
            return []
        try:
            compiled(self._schema)(value)
        except fastjsonschema.JsonSchemaValueException:
            return [Match("schema_mismatch", whole=True)]
        return []
