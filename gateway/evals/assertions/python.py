"""The ``python`` assertion: a function in a file beside the suite decides.

``value: file://checks.py:function_name`` (``get_assert`` when no name is given). The function is called as
``function(output: str, context: dict)``; ``context`` holds ``vars``, ``case_id``, ``response`` (the parsed
chat completion), ``finish_reason``, ``tool_calls``, ``latency_ms`` and ``cost_usd``. It returns:

* a bool: pass or fail, score 1 or 0;
* a number: the score; it passes when the score reaches the assertion's ``threshold`` (0.5 when none);
* a mapping ``{"pass": bool, "score": float, "reason": str}`` (any of the three may be left out).

It may be ``async``. An exception fails the assertion with the exception as the reason. Each file is loaded
once per run.
"""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from gateway.evals.assertions.base import AssertContext, Output, Verdict


async def python(spec: Any, output: Output, ctx: AssertContext) -> Verdict:
    path, name = spec.value
    try:
        module = _module(path, ctx.modules)
        function = getattr(module, name, None)
        if not callable(function):
            return Verdict.of(False, f"{path.name} has no function {name}")
        result = function(output.text, _context(output, ctx))
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:  # the user's code; its failure is the assertion's verdict
        return Verdict.of(False, f"{path.name}:{name} raised {type(exc).__name__}: {exc}")
    return _verdict(result, spec.threshold, f"{path.name}:{name}")


def _module(path: Path, modules: dict[Path, ModuleType]) -> ModuleType:
    module = modules.get(path)
    if module is None:
        loader_spec = importlib.util.spec_from_file_location(f"eval_assert_{path.stem}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        modules[path] = module
    return module


def _context(output: Output, ctx: AssertContext) -> dict[str, Any]:
    return {
        "vars": dict(ctx.case.vars),
        "case_id": ctx.case.id,
        "response": output.response,
        "finish_reason": output.finish_reason,
        "tool_calls": output.tool_calls,
        "latency_ms": output.latency_ms,
        "cost_usd": output.cost_usd,
    }


def _verdict(result: Any, threshold: float | None, where: str) -> Verdict:
    if isinstance(result, bool):
        return Verdict.of(result, f"{where} returned {result}")
    if isinstance(result, int | float):
        limit = 0.5 if threshold is None else threshold
        return Verdict(result >= limit, float(result), f"{where} scored {result:.3g} (needs {limit:.3g})")
    if isinstance(result, Mapping):
        score = result.get("score")
        passed = result.get("pass")
        if passed is None:
            limit = 0.5 if threshold is None else threshold
            passed = score is not None and float(score) >= limit
        if score is None:
            score = 1.0 if passed else 0.0
        return Verdict(bool(passed), float(score), str(result.get("reason") or f"{where} returned {dict(result)}"))
    return Verdict.of(False, f"{where} returned {type(result).__name__}; expected bool, number or mapping")
