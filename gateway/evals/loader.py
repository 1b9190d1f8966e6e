"""``load_suite(path)``: read a suite YAML (and the files it names) into a validated ``Suite``.

The format follows promptfoo where it can (``vars``, ``assert``, ``type``, ``value``, ``threshold``, ``weight``,
``metric``, ``not-``; ``tests`` and ``defaultTest`` are accepted as aliases of ``cases`` and ``defaults``).
Every error is a ``SuiteError`` whose message starts with the file, then the case, then the field. The content
hash covers the suite file and every file it references, so a run records exactly what it checked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from gateway.evals.casefiles import load_case_file
from gateway.evals.model import LOCAL_EMBEDDING, AssertionSpec, Case, Suite, SuiteError, SuiteOptions, Threshold
from gateway.evals.specs import Templates, parse_assertion

_TOP = frozenset(
    {"name", "description", "prompt", "models", "threshold", "defaults", "defaultTest", "cases", "tests", "options"}
)
_CASE = frozenset({"id", "description", "vars", "assert", "threshold", "request", "__where"})
_DEFAULTS = frozenset({"vars", "assert", "threshold", "request", "options"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def load_suite(path: Path) -> Suite:
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        raise SuiteError(f"{path}: cannot read the suite: {exc.strerror}") from exc
    try:
        # libyaml's loader when present: a generated suite of 1,000 cases loads in a tenth of the time.
        raw = yaml.load(raw_bytes, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise SuiteError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise SuiteError(f"{path}: the suite must be a mapping with `prompt` and `cases`")
    unknown = sorted(set(raw) - _TOP)
    if unknown:
        raise SuiteError(f"{path}: {unknown[0]}: unknown field; allowed: {', '.join(sorted(_TOP))}")
    name = _name(raw.get("name", path.stem), f"{path}: name")
    prompt = _name(raw.get("prompt"), f"{path}: prompt")
    defaults = _mapping(raw.get("defaults", raw.get("defaultTest")), f"{path}: defaults", _DEFAULTS)
    options = _options({**_mapping(raw.get("options"), f"{path}: options"),
                        **_mapping(defaults.get("options"), f"{path}: defaults.options")}, path)
    hasher = hashlib.sha256(raw_bytes)
    raw_cases = _raw_cases(raw.get("cases", raw.get("tests")), path, hasher)
    cases = _cases(raw_cases, defaults, path)
    for spec in (a for case in cases for a in case.asserts if a.type == "python"):
        hasher.update(spec.value[0].read_bytes())
    return Suite(
        name=name,
        path=path,
        prompt=prompt,
        cases=tuple(cases),
        content_hash=hasher.hexdigest(),
        description=_optional_str(raw.get("description"), f"{path}: description"),
        models=_models(raw.get("models"), path),
        threshold=_threshold(raw.get("threshold"), f"{path}: threshold"),
        options=options,
    )


def _raw_cases(value: Any, path: Path, hasher: Any) -> list[dict[str, Any]]:
    if value is None:
        raise SuiteError(f"{path}: cases: required, a list of cases or a CSV/JSONL file name")
    entries = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            loaded, file = load_case_file(entry, f"{path}: cases[{index}]", path.parent)
            hasher.update(file.read_bytes())
            out.extend(loaded)
        elif isinstance(entry, Mapping):
            out.append({**entry, "__where": f"{path}: cases[{index}]"})
        else:
            raise SuiteError(f"{path}: cases[{index}]: must be a case mapping or a file name")
    if not out:
        raise SuiteError(f"{path}: cases: the suite has no cases")
    return out


def _cases(raw_cases: list[dict[str, Any]], defaults: Mapping[str, Any], path: Path) -> list[Case]:
    env = Templates()
    default_vars = _mapping(defaults.get("vars"), f"{path}: defaults.vars")
    default_asserts = _list(defaults.get("assert"), f"{path}: defaults.assert")
    default_request = _mapping(defaults.get("request"), f"{path}: defaults.request")
    cases: list[Case] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_cases, start=1):
        location = raw["__where"]
        unknown = sorted(set(raw) - _CASE)
        if unknown:
            raise SuiteError(f"{location}: {unknown[0]}: unknown field; allowed: id, description, vars, assert, "
                             "threshold, request")
        description = _optional_str(raw.get("description"), f"{location}: description")
        explicit = raw.get("id")
        case_id = _optional_str(explicit, f"{location}: id") or description or f"case-{position}"
        if case_id in seen:
            if explicit is not None:
                raise SuiteError(f"{location} (case '{case_id}'): id: '{case_id}' is used by another case")
            case_id = f"{case_id} #{position}"
        seen.add(case_id)
        where = f"{location} (case '{case_id}')"
        variables = {**default_vars, **_mapping(raw.get("vars"), f"{where}: vars")}
        entries = [*(("defaults.assert", i, a) for i, a in enumerate(default_asserts)),
                   *(("assert", i, a) for i, a in enumerate(_list(raw.get("assert"), f"{where}: assert")))]
        asserts: list[AssertionSpec] = [
            parse_assertion(entry, f"{where}: {field}[{i}]", variables, path.parent, env)
            for field, i, entry in entries
        ]
        if not asserts:
            raise SuiteError(f"{where}: assert: the case has no assertions (and the suite no defaults.assert)")
        threshold = raw.get("threshold", defaults.get("threshold"))
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, int | float)):
            raise SuiteError(f"{where}: threshold: must be a number (the case's minimum weighted score)")
        request = {**default_request, **_mapping(raw.get("request"), f"{where}: request")}
        cases.append(Case(case_id, description, variables, tuple(asserts),
                          None if threshold is None else float(threshold), request))
    return cases


def _threshold(value: Any, where: str) -> Threshold:
    if value is None:
        return Threshold()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Threshold(pass_rate=_share(value, where))
    data = _mapping(value, where, frozenset({"pass_rate", "mean_score"}))
    mean = data.get("mean_score")
    return Threshold(
        pass_rate=_share(data.get("pass_rate", 1.0 if mean is None else 0.0), f"{where}.pass_rate"),
        mean_score=None if mean is None else _share(mean, f"{where}.mean_score"),
    )


def _share(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SuiteError(f"{where}: must be a number from 0 to 1")
    return float(value)


def _options(data: Mapping[str, Any], path: Path) -> SuiteOptions:
    unknown = sorted(set(data) - {"judge", "embedding"})
    if unknown:
        raise SuiteError(f"{path}: options.{unknown[0]}: unknown option; allowed: judge, embedding")
    return SuiteOptions(
        judge=_optional_str(data.get("judge"), f"{path}: options.judge"),
        embedding=_optional_str(data.get("embedding"), f"{path}: options.embedding") or LOCAL_EMBEDDING,
    )


def _models(value: Any, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise SuiteError(f"{path}: models: must be a list of model names from the gateway config")
    return tuple(value)


def _name(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise SuiteError(f"{where}: required, a name of letters, digits, '.', '_' or '-' (got {value!r})")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise SuiteError(f"{where}: must be a string")
    return str(value)


def _mapping(value: Any, where: str, allowed: frozenset[str] | None = None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SuiteError(f"{where}: must be a mapping")
    if allowed is not None and (unknown := sorted(set(value) - allowed)):
        raise SuiteError(f"{where}.{unknown[0]}: unknown field; allowed: {', '.join(sorted(allowed))}")
    return dict(value)


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SuiteError(f"{where}: must be a list")
    return value
