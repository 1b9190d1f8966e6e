"""Assertions on structure and call metadata: is-json, contains-json, json-schema, is-valid-openai-tools-call,
finish-reason, latency and cost."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.evals.assertions.base import Output, Verdict
from gateway.evals.assertions.text import show
from gateway.evals.model import AssertionSpec


def schema_problem(instance: Any, schema: Mapping[str, Any]) -> str | None:
    """The first JSON-schema violation, or None. jsonschema is imported only when a suite uses a schema."""
    import jsonschema  # noqa: PLC0415 - jsonschema (~100 ms), only for schema assertions

    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(instance), key=lambda e: list(e.absolute_path))
    if not errors:
        return None
    error = errors[0]
    location = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"at {location}: {error.message}"


def is_json(spec: AssertionSpec, output: Output) -> Verdict:
    try:
        value = json.loads(output.text)
    except json.JSONDecodeError as exc:
        return Verdict.of(False, f"output is not JSON ({exc.msg} at char {exc.pos}): {show(output.text)}")
    return _against_schema(spec, value, "output is JSON")


def contains_json(spec: AssertionSpec, output: Output) -> Verdict:
    for value in _embedded_json(output.text):
        verdict = _against_schema(spec, value, "output contains JSON")
        if verdict.passed or spec.value is None:
            return verdict
    if spec.value is not None:
        return Verdict.of(False, f"no JSON in the output matches the schema: {show(output.text)}")
    return Verdict.of(False, f"no JSON object or array in the output: {show(output.text)}")


def json_schema(spec: AssertionSpec, output: Output) -> Verdict:
    try:
        value = json.loads(output.text)
    except json.JSONDecodeError as exc:
        return Verdict.of(False, f"output is not JSON ({exc.msg}): {show(output.text)}")
    return _against_schema(spec, value, "output is JSON")


def _against_schema(spec: AssertionSpec, value: Any, what: str) -> Verdict:
    if spec.value is None:
        return Verdict.of(True, what)
    problem = schema_problem(value, spec.value)
    if problem is None:
        return Verdict.of(True, f"{what} and matches the schema")
    return Verdict.of(False, f"{what} but breaks the schema {problem}")


def _embedded_json(text: str) -> Iterator[Any]:
    """Every JSON object or array that starts somewhere in ``text``, first to last."""
    decoder = json.JSONDecoder()
    for position, char in enumerate(text):
        if char not in "{[":
            continue
        try:
            value, _ = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            continue
        yield value


def is_valid_openai_tools_call(spec: AssertionSpec, output: Output) -> Verdict:
    """Every tool call names a known function and its arguments are a JSON object matching its parameters.

    The known tools are the assertion's ``value``, else the ``tools`` the case sent in ``request``; with neither,
    only the shape of the calls is checked.
    """
    if not output.tool_calls:
        return Verdict.of(False, f"the answer has no tool calls (finish_reason {output.finish_reason!r})")
    tools = spec.value if spec.value is not None else output.request.get("tools")
    known = _functions(tools) if isinstance(tools, list) else None
    for call in output.tool_calls:
        function = call.get("function") if call.get("type", "function") == "function" else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            return Verdict.of(False, f"a tool call is not a function call: {show(json.dumps(call))}")
        name = function["name"]
        try:
            arguments = json.loads(function.get("arguments") or "")
        except json.JSONDecodeError:
            return Verdict.of(False, f"arguments of {name} are not JSON: {show(str(function.get('arguments')))}")
        if not isinstance(arguments, dict):
            return Verdict.of(False, f"arguments of {name} are not a JSON object")
        if known is not None:
            if name not in known:
                return Verdict.of(False, f"{name} is not one of the tools offered ({', '.join(known) or 'none'})")
            problem = schema_problem(arguments, known[name]) if known[name] else None
            if problem is not None:
                return Verdict.of(False, f"arguments of {name} break its parameters schema {problem}")
    names = ", ".join(str(c.get("function", {}).get("name")) for c in output.tool_calls)
    return Verdict.of(True, f"valid tool call(s): {names}")


def _functions(tools: list[Any]) -> dict[str, dict[str, Any]]:
    known: dict[str, dict[str, Any]] = {}
    for tool in tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            parameters = function.get("parameters")
            known[function["name"]] = parameters if isinstance(parameters, dict) else {}
    return known


def finish_reason(spec: AssertionSpec, output: Output) -> Verdict:
    ok = output.finish_reason == spec.value
    return Verdict.of(ok, f"finish_reason {output.finish_reason!r}{'' if ok else f', expected {spec.value!r}'}")


def latency(spec: AssertionSpec, output: Output) -> Verdict:
    limit = float(spec.threshold or 0)
    ok = output.latency_ms <= limit
    return Verdict.of(ok, f"latency {output.latency_ms:.0f} ms {'<=' if ok else '>'} {limit:.0f} ms")


def cost(spec: AssertionSpec, output: Output) -> Verdict:
    limit = float(spec.threshold or 0)
    if output.cost_usd is None:
        return Verdict.of(False, "the gateway reported no cost for this call (is the model priced?)")
    ok = output.cost_usd <= limit
    return Verdict.of(ok, f"cost ${output.cost_usd:.6f} {'<=' if ok else '>'} ${limit:.6f}")
