"""A fast acceptance check for the simple variable schemas most prompts declare.

``jsonschema`` costs about 60 µs per validation even for two string properties, which is most of a prompt's
rendering cost. Most variable schemas use only ``type``, ``properties``, ``required``, ``additionalProperties:
false``, ``enum``, ``minLength`` / ``maxLength`` and ``minimum`` / ``maximum``; for those, ``QuickCheck`` decides
in a few microseconds that the variables are valid. It never rejects: when it cannot say "valid" (a failure, or a
keyword it does not know), the caller runs ``jsonschema``, which stays the authority and words the error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
}
_LEAF_KEYS = frozenset({"type", "enum", "minLength", "maxLength", "minimum", "maximum", "description", "title"})
_ROOT_KEYS = frozenset({"type", "properties", "required", "additionalProperties", "description", "title", "$schema"})


class QuickCheck:
    def __init__(self, required: list[str], properties: dict[str, Check], closed: bool) -> None:
        self._required = required
        self._properties = properties
        self._closed = closed

    @classmethod
    def compile(cls, schema: dict[str, Any]) -> QuickCheck | None:
        """A checker for ``schema``, or None when it uses anything beyond the simple subset."""
        if not _ROOT_KEYS.issuperset(schema) or schema.get("type", "object") != "object":
            return None
        additional = schema.get("additionalProperties", True)
        if additional not in (True, False):
            return None
        properties: dict[str, Check] = {}
        for name, sub in (schema.get("properties") or {}).items():
            check = _leaf(sub)
            if check is None:
                return None
            properties[name] = check
        return cls(list(schema.get("required") or []), properties, closed=additional is False)

    def accepts(self, variables: dict[str, Any]) -> bool:
        if any(name not in variables for name in self._required):
            return False
        for name, value in variables.items():
            check = self._properties.get(name)
            if check is None:
                if self._closed:
                    return False
            elif not check(value):
                return False
        return True


def _leaf(schema: Any) -> Check | None:
    if not isinstance(schema, dict) or not _LEAF_KEYS.issuperset(schema):
        return None
    checks: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(kind, str) or kind not in _TYPES:
            return None
        checks.append(_TYPES[kind])
    if "enum" in schema:
        # Strings only: JSON Schema's equality differs from Python's for numbers and booleans (1 == True).
        options = schema["enum"]
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            return None
        checks.append(_one_of(frozenset(options)))
    bounds = {key: schema[key] for key in ("minLength", "maxLength", "minimum", "maximum") if key in schema}
    if not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds.values()):
        return None
    if bounds:
        checks.append(_within(bounds))
    return lambda value: all(check(value) for check in checks)


def _one_of(options: frozenset[str]) -> Check:
    return lambda value: isinstance(value, str) and value in options


def _within(bounds: dict[str, float]) -> Check:
    """minLength/maxLength bind strings only, minimum/maximum numbers only, as in JSON Schema."""

    def check(value: Any) -> bool:
        if isinstance(value, str):
            return bounds.get("minLength", 0) <= len(value) <= bounds.get("maxLength", len(value))
        if _TYPES["number"](value):
            return bool(bounds.get("minimum", value) <= value <= bounds.get("maximum", value))
        return True

    return check
