"""Detector types by the name policies use (``type: pii``), and custom ones: a Python class in a file
(``type: python``, ``class: guardrails/my_check.py:MyCheck``), an importable class (``class: package.mod:Class``)
or an installed package's entry point in the ``llmops_gateway.guardrails`` group (``type: <entry point name>``).

A custom class is built with the guardrail's options as keyword arguments and implements ``Detector``
(``gateway.guardrails.detectors.base``): ``spans``, ``max_length`` and ``async scan(texts)``.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from gateway.guardrails.detectors.base import Detector
from gateway.guardrails.detectors.injection import InjectionDetector
from gateway.guardrails.detectors.invisible import InvisibleDetector
from gateway.guardrails.detectors.size import SizeDetector
from gateway.guardrails.detectors.words import WordsDetector
from gateway.localmodels import LocalModels

ENTRY_POINT_GROUP = "llmops_gateway.guardrails"

Factory = Callable[[dict[str, Any], LocalModels | None], Detector]


def _pii(options: dict[str, Any], _: LocalModels | None) -> Detector:
    from gateway.guardrails.detectors.pii import PIIDetector  # noqa: PLC0415 - phonenumbers only for a policy using it

    return PIIDetector(**options)


def _secrets(options: dict[str, Any], _: LocalModels | None) -> Detector:
    from gateway.guardrails.detectors.secrets import SecretsDetector  # noqa: PLC0415 - detect-secrets: idem

    return SecretsDetector(**options)


def _json(options: dict[str, Any], _: LocalModels | None) -> Detector:
    from gateway.guardrails.detectors.jsonschema import JsonDetector  # noqa: PLC0415 - fastjsonschema: idem

    return JsonDetector(**options)


def _webhook(options: dict[str, Any], _: LocalModels | None) -> Detector:
    from gateway.guardrails.detectors.webhook import WebhookDetector  # noqa: PLC0415 - httpx (and its CLI's rich)

    return WebhookDetector(**options)


#: Built-in types; the detectors with a library of their own import it when a policy first uses them, so a
#: gateway without guardrails (or without that one) never loads it.
BUILT_IN: dict[str, Factory] = {
    "pii": _pii,
    "secrets": _secrets,
    "prompt_injection": lambda options, models: InjectionDetector(models, **options),
    "words": lambda options, _: WordsDetector(**options),
    "invisible_text": lambda options, _: InvisibleDetector(**options),
    "size": lambda options, _: SizeDetector(**options),
    "json_schema": _json,
    "webhook": _webhook,
}


def build_detector(kind: str, options: dict[str, Any], models: LocalModels | None) -> Detector:
    """The detector of ``kind`` with ``options``; TypeError/ValueError/LookupError/ImportError name a problem."""
    kind = kind.replace("-", "_")
    if kind in BUILT_IN:
        return BUILT_IN[kind](options, models)
    if kind == "python":
        options = dict(options)
        target = options.pop("class", None)
        if not isinstance(target, str):
            raise ValueError("a python guardrail needs `class: path/to/file.py:ClassName` or `module:ClassName`")
        return _instance(load_class(target), options)
    found = entry_points(group=ENTRY_POINT_GROUP, name=kind)
    if not found:
        known = sorted([*BUILT_IN, "python", *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))])
        raise LookupError(f"unknown guardrail type {kind!r}; known: {known}")
    return _instance(next(iter(found)).load(), options)


def load_class(target: str) -> Any:
    """``file.py:Class`` (a file, relative to the working directory) or ``package.module:Class``."""
    where, _, name = target.rpartition(":")
    if not where or not name:
        raise ValueError(f"`class` must be FILE.py:Class or module:Class, got {target!r}")
    if where.endswith(".py"):
        path = Path(where).resolve()
        spec = importlib.util.spec_from_file_location(f"gateway_guardrail_{path.stem}", path)
        if spec is None or spec.loader is None or not path.is_file():
            raise ImportError(f"no Python file at {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    else:
        module = importlib.import_module(where)
    return getattr(module, name)


def _instance(cls: Any, options: dict[str, Any]) -> Detector:
    detector = cls(**options)
    if not callable(getattr(detector, "scan", None)):
        raise TypeError(f"{cls!r} has no scan(texts) method")
    for attribute, default in (("spans", False), ("max_length", None)):
        if not hasattr(detector, attribute):
            setattr(detector, attribute, default)
    return detector  # type: ignore[no-any-return]
