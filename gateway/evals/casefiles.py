"""Cases kept in a CSV or JSONL file beside the suite, turned into the same mappings as inline cases.

* JSONL: one case object per line (``id``, ``description``, ``vars``, ``assert``, ``threshold``); blank lines
  are skipped.
* CSV (promptfoo's convention): every column is a var, except ``__id``, ``__description`` and
  ``__expected`` / ``__expected1`` ... whose cells are assertions written ``type:value``,
  ``type(threshold):value`` or a bare ``type`` (``is-json``); a cell with no known type is an ``equals``.

Each returned mapping carries ``__where`` (file and line) so that later errors can name it.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from gateway.evals.model import SuiteError
from gateway.evals.specs import VALUE_KINDS

_EXPECTED = re.compile(r"^(?P<type>(?:not-)?[a-z][a-z-]*)(?:\((?P<threshold>[0-9.]+)\))?(?::(?P<value>.*))?$", re.S)
_SPECIAL = frozenset({"__id", "__description", "__threshold"})


def load_case_file(reference: str, where: str, base: Path) -> tuple[list[dict[str, Any]], Path]:
    path = base / reference.removeprefix("file://")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"{where}: cannot read case file {path}: {exc.strerror}") from exc
    if path.suffix == ".jsonl":
        return _jsonl(text, path), path
    if path.suffix == ".csv":
        return _csv(text, path), path
    raise SuiteError(f"{where}: case file {path} must end in .csv or .jsonl")


def _jsonl(text: str, path: Path) -> list[dict[str, Any]]:
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            case = json.loads(line)
        except json.JSONDecodeError as exc:
            raise SuiteError(f"{path}: line {number}: not valid JSON: {exc.msg}") from exc
        if not isinstance(case, dict):
            raise SuiteError(f"{path}: line {number}: must be a JSON object with `vars` and `assert`")
        cases.append({**case, "__where": f"{path}: line {number}"})
    return cases


def _csv(text: str, path: Path) -> list[dict[str, Any]]:
    reader = csv.DictReader(text.splitlines())
    if not reader.fieldnames:
        raise SuiteError(f"{path}: the CSV has no header row")
    cases = []
    for row in reader:
        line = reader.line_num
        where = f"{path}: line {line}"
        if None in row:
            raise SuiteError(f"{where}: more cells than the header has columns")
        case: dict[str, Any] = {"__where": where, "vars": {}, "assert": []}
        for column, cell in row.items():
            cell = cell or ""
            if column.startswith("__expected"):
                if cell.strip():
                    case["assert"].append(parse_expected(cell.strip(), f"{where}: column {column}"))
            elif column == "__threshold":
                case["threshold"] = _float(cell, f"{where}: column {column}") if cell.strip() else None
            elif column in _SPECIAL:
                if cell.strip():
                    case[column[2:]] = cell.strip()
            else:
                case["vars"][column] = cell
        cases.append(case)
    return cases


def parse_expected(cell: str, where: str) -> dict[str, Any]:
    """``icontains:hello`` -> {type: icontains, value: hello}; ``similar(0.8):text`` sets the threshold."""
    match = _EXPECTED.match(cell)
    if match is not None:
        full_type = match.group("type")
        base = full_type.removeprefix("not-")
        if base in VALUE_KINDS and (match.group("value") is not None or _bare_ok(base)):
            out: dict[str, Any] = {"type": full_type}
            value = match.group("value")
            if value is not None and VALUE_KINDS[base] == "number":
                out["threshold"] = _float(value.strip(), where)
            elif value is not None:
                out["value"] = value.strip()
            if match.group("threshold"):
                out["threshold"] = _float(match.group("threshold"), where)
            return out
    return {"type": "equals", "value": cell}


def _bare_ok(base: str) -> bool:
    return VALUE_KINDS[base] in ("optional-schema", "tools")


def _float(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise SuiteError(f"{where}: '{text}' is not a number") from exc
