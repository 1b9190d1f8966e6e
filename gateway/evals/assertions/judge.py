"""Judge requests and the parsing of judge replies, for ``llm-rubric`` and ``factuality``.

The judge is a chat model from the gateway's config, called through the gateway. The request asks for a JSON
verdict with OpenAI structured output (``response_format: json_schema``), and the parser also accepts the free
text a model without structured output writes: a JSON object anywhere in the reply, or ``score: 0.7`` /
``PASS`` / ``FAIL`` / ``(C)`` lines. A reply with no verdict raises ``NoVerdict``.

With the built-in fake provider as judge the reply is deterministic: it fills the schema with ``score: 1``,
``pass: true`` (and the first letter, ``A``, for factuality), so the suites exercise the plumbing, not the
judgement. Real grading needs a real model.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

RUBRIC_SYSTEM = (
    "You grade the output of an AI system against a rubric. Judge only what the rubric asks. Reply with a JSON "
    'object and nothing else: {"reason": "<one or two sentences>", "score": <a number from 0 to 1>, '
    '"pass": <true or false>}.'
)
FACTUALITY_SYSTEM = (
    "You compare a submitted answer with an expert's reference answer to the same question, for factual content "
    "only; ignore style, grammar and punctuation. Choose one option:\n"
    "(A) The submission is a subset of the reference and fully consistent with it.\n"
    "(B) The submission is a superset of the reference and fully consistent with it.\n"
    "(C) The submission contains all the same details as the reference.\n"
    "(D) There is a disagreement between the submission and the reference.\n"
    "(E) The answers differ, but these differences don't matter from the perspective of factuality.\n"
    'Reply with a JSON object and nothing else: {"choice": "<A, B, C, D or E>", "reason": "<one sentence>"}.'
)
#: How much each factuality choice scores; D (a disagreement) is the only failing one by default.
FACTUALITY_SCORES = {"A": 0.8, "B": 0.9, "C": 1.0, "D": 0.0, "E": 0.8}


class NoVerdict(ValueError):
    """The judge's reply held no score, pass/fail or choice."""


@dataclass(frozen=True, slots=True)
class JudgeVerdict:
    score: float
    passed: bool | None
    reason: str


def rubric_request(model: str, rubric: str, output: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"reason": {"type": "string"}, "score": {"type": "number"}, "pass": {"type": "boolean"}},
        "required": ["reason", "score", "pass"],
        "additionalProperties": False,
    }
    user = f"<rubric>\n{rubric}\n</rubric>\n<output>\n{output}\n</output>"
    return _request(model, RUBRIC_SYSTEM, user, "verdict", schema)


def factuality_request(model: str, question: str, reference: str, output: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"choice": {"type": "string", "enum": list("ABCDE")}, "reason": {"type": "string"}},
        "required": ["choice", "reason"],
        "additionalProperties": False,
    }
    user = (f"<question>\n{question}\n</question>\n<reference>\n{reference}\n</reference>\n"
            f"<submission>\n{output}\n</submission>")
    return _request(model, FACTUALITY_SYSTEM, user, "factuality", schema)


def _request(model: str, system: str, user: str, name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
        "temperature": 0,
        "response_format": {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}},
    }


_SCORE = re.compile(r"\bscore\b\W{0,3}([0-9]+(?:\.[0-9]+)?)(\s*/\s*(?:10|100))?", re.I)
_PASS = re.compile(r"\b(PASS|FAIL)(?:ED)?\b")
_CHOICE = re.compile(r"\(([A-E])\)|\bchoice\W{0,3}([A-E])\b", re.I)


def parse_rubric(reply: str) -> JudgeVerdict:
    found = _json_with(reply, ("score", "pass"))
    if found is not None:
        score = _score(found.get("score"))
        passed = found.get("pass") if isinstance(found.get("pass"), bool) else None
        if score is None and passed is None:
            raise NoVerdict("the judge's JSON has neither a numeric score nor a boolean pass")
        if score is None:
            score = 1.0 if passed else 0.0
        return JudgeVerdict(score, passed, str(found.get("reason") or "").strip())
    score_match = _SCORE.search(reply)
    pass_match = _PASS.search(reply)
    if score_match is None and pass_match is None:
        raise NoVerdict("no score and no PASS/FAIL in the judge's reply")
    passed = None if pass_match is None else pass_match.group(1).upper() == "PASS"
    score = _score(score_match.group(1) if score_match else None)
    if score is None:
        score = 1.0 if passed else 0.0
    return JudgeVerdict(score, passed, reply.strip())


def parse_factuality(reply: str) -> tuple[str, str]:
    """(choice letter, reason)."""
    found = _json_with(reply, ("choice",))
    if found is not None:
        choice = str(found.get("choice", "")).strip().strip("()").upper()
        if choice in FACTUALITY_SCORES:
            return choice, str(found.get("reason") or "").strip()
    match = _CHOICE.search(reply)
    if match is None:
        raise NoVerdict("no choice (A to E) in the judge's reply")
    return (match.group(1) or match.group(2)).upper(), reply.strip()


def _score(value: Any) -> float | None:
    """A score from 0 to 1; judges that answer out of 10 or 100 are scaled down."""
    try:
        score = float(value)
    except (TypeError, ValueError):
        return None
    if score > 10:
        score /= 100
    elif score > 1:
        score /= 10
    return min(max(score, 0.0), 1.0)


def _json_with(text: str, keys: tuple[str, ...]) -> dict[str, Any] | None:
    """The last JSON object in ``text`` that has one of ``keys``."""
    decoder = json.JSONDecoder()
    found: dict[str, Any] | None = None
    for position, char in enumerate(text):
        if char != "{":
            continue
        try:
            value, _ = decoder.raw_decode(text, position)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and any(key in value for key in keys):
            found = value
    return found
