"""Validating one ``assert`` entry of a suite into an ``AssertionSpec``.

String values (and strings inside lists) are Jinja templates rendered with the case's vars, as in promptfoo:
``value: "{{ customer_name }}"``. A missing var is an error, never a silent blank. ``file://`` values are read
relative to the suite's folder. Every problem raises ``SuiteError`` with ``where`` (file, case, field) in front.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from gateway.evals.model import AssertionSpec, SuiteError

# What each type needs as its value: str, strs (list or comma-separated), any, schema, optional-schema,
# tools, number (threshold only), python (a file reference).
VALUE_KINDS: dict[str, str] = {
    "equals": "any",
    "contains": "str",
    "icontains": "str",
    "starts-with": "str",
    "regex": "regex",
    "contains-any": "strs",
    "contains-all": "strs",
    "is-json": "optional-schema",
    "contains-json": "optional-schema",
    "json-schema": "schema",
    "levenshtein": "str",
    "is-valid-openai-tools-call": "tools",
    "finish-reason": "str",
    "latency": "number",
    "cost": "number",
    "python": "python",
    "similar": "texts",
    "llm-rubric": "str",
    "factuality": "str",
}
DEFAULT_THRESHOLDS: dict[str, float] = {"levenshtein": 5.0, "similar": 0.75, "llm-rubric": 0.5}
MODEL_ASSISTED = frozenset({"similar", "llm-rubric", "factuality"})
_KEYS = frozenset({"type", "value", "threshold", "weight", "metric", "provider"})


class Templates:
    """Renders assertion values with a case's vars; each distinct source is compiled once per suite load (a
    suite's defaults repeat the same template for every case)."""

    def __init__(self) -> None:
        self.env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.compiled: dict[str, Template] = {}

    def render(self, text: str, where: str, variables: Mapping[str, Any]) -> str:
        if "{{" not in text and "{%" not in text:
            return text
        try:
            template = self.compiled.get(text)
            if template is None:
                template = self.compiled[text] = self.env.from_string(text)
            return template.render(**variables)
        except TemplateError as exc:
            raise SuiteError(f"{where}: cannot render with the case's vars: {exc}") from exc


def parse_assertion(
    raw: Any, where: str, variables: Mapping[str, Any], base_dir: Path, env: Templates
) -> AssertionSpec:
    if not isinstance(raw, Mapping):
        raise SuiteError(f"{where}: must be a mapping with `type` (and usually `value`), got {_kind(raw)}")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise SuiteError(f"{where}.{unknown[0]}: unknown field; allowed: {', '.join(sorted(_KEYS))}")
    full_type = raw.get("type")
    if not isinstance(full_type, str) or not full_type:
        raise SuiteError(f"{where}.type: required, a string such as `contains` or `not-regex`")
    negate = full_type.startswith("not-")
    base = full_type[4:] if negate else full_type
    if base not in VALUE_KINDS:
        raise SuiteError(f"{where}.type: unknown assertion type '{full_type}'{_suggest(base)}")
    threshold = _number(raw.get("threshold"), f"{where}.threshold")
    value = raw.get("value")
    kind = VALUE_KINDS[base]
    if kind == "number":
        limit = threshold if threshold is not None else _number(value, f"{where}.value")
        if limit is None:
            raise SuiteError(f"{where}.threshold: required for `{base}` (a number: the maximum allowed)")
        threshold, value = limit, None
    else:
        value = _value(kind, value, f"{where}.value", variables, base_dir, env)
    if threshold is None:
        threshold = DEFAULT_THRESHOLDS.get(base)
    weight = _number(raw.get("weight"), f"{where}.weight")
    if weight is not None and weight < 0:
        raise SuiteError(f"{where}.weight: must be zero or more")
    metric = raw.get("metric", base)
    if not isinstance(metric, str) or not metric:
        raise SuiteError(f"{where}.metric: must be a non-empty string")
    provider = raw.get("provider")
    if provider is not None and (not isinstance(provider, str) or base not in MODEL_ASSISTED):
        raise SuiteError(f"{where}.provider: a model name, only for {', '.join(sorted(MODEL_ASSISTED))}")
    return AssertionSpec(
        type=base,
        negate=negate,
        value=value,
        threshold=threshold,
        weight=1.0 if weight is None else weight,
        metric=metric,
        provider=provider,
        base_dir=base_dir,
    )


def _value(kind: str, value: Any, where: str, variables: Mapping[str, Any], base: Path, env: Templates) -> Any:
    if kind == "python":
        return _python_ref(value, where, base)
    if kind in ("schema", "optional-schema", "tools"):
        if value is None and kind != "schema":
            return None
        loaded = _load_file(value, where, base) if isinstance(value, str) else value
        expected = list if kind == "tools" else Mapping
        if not isinstance(loaded, expected):
            what = "a list of tool definitions" if kind == "tools" else "a JSON schema (mapping or file://path)"
            raise SuiteError(f"{where}: must be {what}, got {_kind(loaded)}")
        return loaded
    if value is None:
        raise SuiteError(f"{where}: required")
    if kind == "any":
        return env.render(value, where, variables) if isinstance(value, str) else value
    if kind in ("strs", "texts"):
        # promptfoo splits contains-any/contains-all strings on commas; a `similar` reference is one text.
        items = value
        if isinstance(value, str):
            items = [p.strip() for p in value.split(",")] if kind == "strs" else [value]
        if not isinstance(items, list) or not items or not all(isinstance(i, str | int | float) for i in items):
            raise SuiteError(f"{where}: must be a string or a non-empty list of strings")
        return tuple(env.render(str(i), where, variables) for i in items)
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise SuiteError(f"{where}: must be a string, got {_kind(value)}")
    text = env.render(str(value), where, variables)
    if kind == "regex":
        try:
            re.compile(text)
        except re.error as exc:
            raise SuiteError(f"{where}: not a valid regular expression: {exc}") from exc
    return text


def _python_ref(value: Any, where: str, base: Path) -> tuple[Path, str]:
    if not isinstance(value, str) or not value:
        raise SuiteError(f"{where}: required, `file://checks.py` or `file://checks.py:function_name`")
    ref = value.removeprefix("file://")
    path_text, _, function = ref.partition(":")
    path = (base / path_text).resolve()
    if path.suffix != ".py" or not path.is_file():
        raise SuiteError(f"{where}: no Python file '{path_text}' beside the suite (looked for {path})")
    if function and not function.isidentifier():
        raise SuiteError(f"{where}: '{function}' is not a Python function name")
    return path, function or "get_assert"


def _load_file(value: str, where: str, base: Path) -> Any:
    if not value.startswith("file://"):
        return value
    path = base / value.removeprefix("file://")
    try:
        text = path.read_text()
    except OSError as exc:
        raise SuiteError(f"{where}: cannot read {path}: {exc.strerror}") from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SuiteError(f"{where}: {path} is not valid JSON/YAML: {exc}") from exc


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SuiteError(f"{where}: must be a number, got {_kind(value)}")
    return float(value)


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, list(VALUE_KINDS), n=1)
    return f" (did you mean '{close[0]}'?)" if close else f"; known: {', '.join(VALUE_KINDS)}"


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__
