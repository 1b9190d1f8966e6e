"""Deterministic assertions on the output text: equals, contains, icontains, contains-any, contains-all,
starts-with, regex and levenshtein. Each takes the spec and the output and returns a ``Verdict``."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.evals.assertions.base import Output, Verdict
from gateway.evals.model import AssertionSpec

_SHOW = 80


def show(text: str, limit: int = _SHOW) -> str:
    """A short, quoted form of a text for reasons."""
    flat = text.replace("\n", "\\n")
    return repr(flat if len(flat) <= limit else flat[: limit - 1] + "…")


def equals(spec: AssertionSpec, output: Output) -> Verdict:
    expected: Any = spec.value
    if isinstance(expected, dict | list):
        try:
            actual = json.loads(output.text)
        except json.JSONDecodeError:
            return Verdict.of(False, f"expected JSON equal to {show(json.dumps(expected))}; output is not JSON")
        same = actual == expected
        return Verdict.of(same, "JSON is equal" if same else f"JSON differs from {show(json.dumps(expected))}")
    same = output.text == str(expected)
    return Verdict.of(same, "output equals the expected text" if same else
                      f"expected {show(str(expected))}, got {show(output.text)}")


def contains(spec: AssertionSpec, output: Output) -> Verdict:
    found = spec.value in output.text
    return Verdict.of(found, f"{'found' if found else 'did not find'} {show(spec.value)} in {show(output.text)}")


def icontains(spec: AssertionSpec, output: Output) -> Verdict:
    found = spec.value.lower() in output.text.lower()
    return Verdict.of(found, f"{'found' if found else 'did not find'} {show(spec.value)} (any case) in "
                             f"{show(output.text)}")


def contains_any(spec: AssertionSpec, output: Output) -> Verdict:
    found = [item for item in spec.value if item in output.text]
    if found:
        return Verdict.of(True, f"found {show(found[0])}")
    return Verdict.of(False, f"found none of {', '.join(show(i, 30) for i in spec.value)} in {show(output.text)}")


def contains_all(spec: AssertionSpec, output: Output) -> Verdict:
    missing = [item for item in spec.value if item not in output.text]
    share = 1 - len(missing) / len(spec.value)
    if not missing:
        return Verdict(True, 1.0, f"found all {len(spec.value)}")
    return Verdict(False, share, f"missing {', '.join(show(i, 30) for i in missing)} in {show(output.text)}")


def starts_with(spec: AssertionSpec, output: Output) -> Verdict:
    ok = output.text.startswith(spec.value)
    return Verdict.of(ok, f"output {'starts' if ok else 'does not start'} with {show(spec.value)}: "
                          f"{show(output.text, 40)}")


def regex(spec: AssertionSpec, output: Output) -> Verdict:
    match = re.search(spec.value, output.text)
    if match is None:
        return Verdict.of(False, f"/{spec.value}/ does not match {show(output.text)}")
    return Verdict.of(True, f"/{spec.value}/ matched {show(match.group(0), 40)}")


def levenshtein(spec: AssertionSpec, output: Output) -> Verdict:
    """Edit distance to ``value`` at most ``threshold`` (default 5); score is 1 - distance / longer length."""
    limit = int(spec.threshold if spec.threshold is not None else 5)
    expected, actual = str(spec.value), output.text
    longest = max(len(expected), len(actual)) or 1
    if abs(len(expected) - len(actual)) > limit:
        # The length gap alone is a lower bound on the distance; no need to fill the whole table.
        gap = abs(len(expected) - len(actual))
        return Verdict(False, max(0.0, 1 - gap / longest), f"edit distance at least {gap} > {limit}")
    distance = edit_distance(expected, actual)
    ok = distance <= limit
    return Verdict(ok, 1 - distance / longest, f"edit distance {distance} {'<=' if ok else '>'} {limit}")


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions each cost 1."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b)))
        previous = current
    return previous[-1]
