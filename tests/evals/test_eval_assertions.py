"""Every assertion type passes on a matching output and fails on a non-matching one, with a score and a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from support.eval_assertions import ScriptedServices, check

from gateway.evals.assertions import Output
from gateway.evals.assertions.text import edit_distance
from gateway.evals.model import SuiteOptions

TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def tool_output(name: str, arguments: str) -> Output:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
    return Output(text="", tool_calls=[call], finish_reason="tool_calls", request={"tools": TOOLS})


DETERMINISTIC: list[tuple[dict[str, Any], Any, Any]] = [
    ({"type": "equals", "value": "Hello"}, "Hello", "Hello!"),
    ({"type": "equals", "value": {"a": 1}}, '{"a": 1}', '{"a": 2}'),
    ({"type": "contains", "value": "order"}, "your order ships", "your parcel ships"),
    ({"type": "icontains", "value": "ORDER"}, "your order ships", "your parcel ships"),
    ({"type": "contains-any", "value": ["refund", "return"]}, "a return label", "a discount"),
    ({"type": "contains-any", "value": "refund, return"}, "a refund", "a discount"),
    ({"type": "contains-all", "value": ["mug", "teapot"]}, "mug and teapot", "mug only"),
    ({"type": "starts-with", "value": "Dear"}, "Dear Ada", "Hi Ada"),
    ({"type": "regex", "value": r"^\d{4}-\d{2}$"}, "2026-11", "Nov 2026"),
    ({"type": "levenshtein", "value": "kitten", "threshold": 3}, "kitten", "a completely different text"),
    ({"type": "is-json"}, '{"ok": true}', "ok: true"),
    ({"type": "is-json", "value": {"type": "object", "required": ["ok"]}}, '{"ok": 1}', '{"fine": 1}'),
    ({"type": "contains-json"}, 'Here: {"id": 7} done', "no json here"),
    ({"type": "contains-json", "value": {"required": ["id"]}}, 'x {"a": 1} y {"id": 2}', 'x {"a": 1}'),
    ({"type": "json-schema", "value": {"type": "object", "properties": {"n": {"type": "integer"}}}},
     '{"n": 3}', '{"n": "three"}'),
    ({"type": "is-valid-openai-tools-call"}, tool_output("get_weather", '{"city": "Leeds"}'),
     tool_output("get_weather", '{"town": "Leeds"}')),
    ({"type": "finish-reason", "value": "stop"}, Output("x", finish_reason="stop"),
     Output("x", finish_reason="length")),
    ({"type": "latency", "threshold": 500}, Output("x", latency_ms=120), Output("x", latency_ms=900)),
    ({"type": "cost", "threshold": 0.01}, Output("x", cost_usd=0.002), Output("x", cost_usd=0.05)),
]


@pytest.mark.parametrize(("raw", "good", "bad"), DETERMINISTIC, ids=lambda v: v["type"] if isinstance(v, dict) else "")
async def test_deterministic_assertion_passes_on_a_match_and_fails_otherwise(raw: dict[str, Any], good: Any,
                                                                           bad: Any) -> None:
    passed = await check(raw, good)
    failed = await check(raw, bad)
    assert (passed.passed, passed.score) == (True, 1.0), passed.reason
    assert failed.passed is False and failed.score < 1.0, failed.reason
    assert failed.reason and failed.reason != passed.reason


async def test_not_prefix_inverts_the_verdict_and_the_score() -> None:
    plain = await check({"type": "contains", "value": "sorry"}, "we are sorry")
    negated = await check({"type": "not-contains", "value": "sorry"}, "we are sorry")
    assert plain.passed and not negated.passed
    assert negated.score == 0.0 and negated.type == "not-contains" and negated.reason.startswith("not: ")
    assert (await check({"type": "not-contains", "value": "sorry"}, "all good")).passed


async def test_assertion_values_are_rendered_with_the_case_vars() -> None:
    outcome = await check({"type": "icontains", "value": "{{ customer_name }}"}, "Hi ada!",
                          variables={"customer_name": "Ada"})
    assert outcome.passed and "'Ada'" in outcome.reason


async def test_contains_all_scores_the_share_found() -> None:
    outcome = await check({"type": "contains-all", "value": ["a1", "b2", "c3", "d4"]}, "a1 b2 c3")
    assert not outcome.passed and outcome.score == pytest.approx(0.75) and "'d4'" in outcome.reason


async def test_levenshtein_reports_the_distance() -> None:
    outcome = await check({"type": "levenshtein", "value": "kitten"}, "sitting")
    assert outcome.passed and "edit distance 3" in outcome.reason
    assert edit_distance("flaw", "lawn") == 2 and edit_distance("", "abc") == 3


async def test_tools_call_checks_the_offered_tool_names_and_a_missing_call() -> None:
    unknown = await check({"type": "is-valid-openai-tools-call"}, tool_output("send_email", "{}"))
    assert not unknown.passed and "not one of the tools offered (get_weather)" in unknown.reason
    bad_json = await check({"type": "is-valid-openai-tools-call"}, tool_output("get_weather", "{city"))
    assert not bad_json.passed and "not JSON" in bad_json.reason
    none = await check({"type": "is-valid-openai-tools-call", "value": TOOLS}, Output("plain text"))
    assert not none.passed and "no tool calls" in none.reason


async def test_cost_fails_when_the_gateway_reported_none() -> None:
    outcome = await check({"type": "cost", "threshold": 1}, Output("x", cost_usd=None))
    assert not outcome.passed and "no cost" in outcome.reason


def write_checks(tmp_path: Path) -> Path:
    (tmp_path / "checks.py").write_text(
        "def flag(output, context):\n    return 'ok' in output\n"
        "def graded(output, context):\n    return len(output) / 10\n"
        "def detailed(output, context):\n"
        "    return {'pass': context['vars']['want'] in output, 'score': 0.4, 'reason': 'looked for want'}\n"
        "def broken(output, context):\n    raise KeyError('boom')\n"
        "async def later(output, context):\n    return output.startswith('E')\n"
        "def get_assert(output, context):\n    return context['case_id'] == 't'\n"
    )
    return tmp_path


@pytest.mark.parametrize(("function", "output", "passed", "score", "reason"), [
    ("flag", "is ok", True, 1.0, "returned True"),
    ("flag", "is bad", False, 0.0, "returned False"),
    ("graded", "1234567", True, 0.7, "scored 0.7"),
    ("graded", "123", False, 0.3, "scored 0.3"),
    ("detailed", "has apples", True, 0.4, "looked for want"),
    ("detailed", "has pears", False, 0.4, "looked for want"),
    ("broken", "x", False, 0.0, "raised KeyError"),
    ("later", "Echo", True, 1.0, "returned True"),
    ("", "x", True, 1.0, "get_assert returned True"),
])
async def test_python_assertion_takes_bool_number_or_mapping(tmp_path: Path, function: str, output: str, passed: bool,
                                                             score: float, reason: str) -> None:
    base = write_checks(tmp_path)
    value = "file://checks.py" + (f":{function}" if function else "")
    outcome = await check({"type": "python", "value": value}, output, variables={"want": "apples"}, base=base)
    assert (outcome.passed, outcome.score) == (passed, pytest.approx(score))
    assert reason in outcome.reason


async def test_similar_passes_above_the_threshold_with_the_best_reference() -> None:
    services = ScriptedServices(vectors={"out": [1.0, 0.0], "near": [0.9, 0.1], "far": [0.0, 1.0]})
    near = await check({"type": "similar", "value": ["far", "near"], "threshold": 0.9}, "out", services=services)
    assert near.passed and near.score == pytest.approx(0.9 / (0.82 ** 0.5)) and "'near'" in near.reason
    far = await check({"type": "similar", "value": "far"}, "out", services=services)
    assert not far.passed and far.score == 0.0
    assert services.embed_calls[0][0] == "local:minilm"  # the suite default


async def test_similar_uses_the_assertion_provider_over_the_suite_option() -> None:
    services = ScriptedServices(vectors={"a": [1.0], "b": [1.0]})
    options = SuiteOptions(embedding="text-embedding-3-small")
    await check({"type": "similar", "value": "b", "provider": "other-embedder"}, "a", services=services,
                options=options)
    await check({"type": "similar", "value": "b"}, "a", services=services, options=options)
    assert [c[0] for c in services.embed_calls] == ["other-embedder", "text-embedding-3-small"]


@pytest.mark.parametrize(("reply", "passed", "score"), [
    ('{"reason": "polite and helpful", "score": 0.9, "pass": true}', True, 0.9),
    ('{"reason": "rude", "score": 0.2, "pass": false}', False, 0.2),
    ('{"reason": "says pass but low", "score": 0.3, "pass": true}', False, 0.3),
    ('{"reason": "judge vetoed", "score": 0.8, "pass": false}', False, 0.8),
    ('```json\n{"score": 8, "reason": "out of ten"}\n```', True, 0.8),
    ("Score: 0.75\nPASS - answers the question", True, 0.75),
    ("FAIL. It ignores the question.", False, 0.0),
])
async def test_llm_rubric_parses_the_judge_reply(reply: str, passed: bool, score: float) -> None:
    services = ScriptedServices(judge_reply=reply)
    outcome = await check({"type": "llm-rubric", "value": "Is polite"}, "Hello Ada", services=services,
                          options=SuiteOptions(judge="judge-model"))
    assert (outcome.passed, outcome.score) == (passed, pytest.approx(score)), outcome.reason
    model, body = services.judge_calls[0]
    assert model == "judge-model" and body["model"] == "judge-model"
    user = body["messages"][-1]["content"]
    assert "<rubric>\nIs polite\n</rubric>" in user and "<output>\nHello Ada\n</output>" in user
    assert body["response_format"]["json_schema"]["schema"]["required"] == ["reason", "score", "pass"]


async def test_llm_rubric_without_a_verdict_or_a_judge_fails_with_the_reason() -> None:
    vague = await check({"type": "llm-rubric", "value": "x"}, "y", services=ScriptedServices("I think it is fine"),
                        options=SuiteOptions(judge="j"))
    assert not vague.passed and "no score" in vague.reason
    no_judge = await check({"type": "llm-rubric", "value": "x"}, "y", services=ScriptedServices("{}"))
    assert not no_judge.passed and "options.judge" in no_judge.reason


@pytest.mark.parametrize(("reply", "passed", "score"), [
    ('{"choice": "C", "reason": "same details"}', True, 1.0),
    ('{"choice": "A", "reason": "subset"}', True, 0.8),
    ('{"choice": "D", "reason": "says 12 not 8"}', False, 0.0),
    ("I pick (B): it adds a consistent detail.", True, 0.9),
])
async def test_factuality_maps_the_judge_choice_to_a_score(reply: str, passed: bool, score: float) -> None:
    services = ScriptedServices(judge_reply=reply)
    outcome = await check({"type": "factuality", "value": "Revenue grew 8%."}, "Revenue grew 12%.",
                          variables={"question": "How did revenue change?"}, services=services,
                          options=SuiteOptions(judge="judge-model"))
    assert (outcome.passed, outcome.score) == (passed, score), outcome.reason
    user = services.judge_calls[0][1]["messages"][-1]["content"]
    assert "How did revenue change?" in user and "Revenue grew 8%." in user and "Revenue grew 12%." in user


async def test_a_tool_call_answer_is_judged_as_its_calls_json() -> None:
    output = Output.from_response(
        {"choices": [{"message": {"content": None, "tool_calls": [
            {"id": "c", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"York"}'}}]},
            "finish_reason": "tool_calls"}]},
        latency_ms=5, cost_usd=None, request={"tools": TOOLS})
    assert json.loads(output.text)[0]["function"]["name"] == "get_weather"
    assert (await check({"type": "contains", "value": "York"}, output)).passed
    assert (await check({"type": "is-valid-openai-tools-call"}, output)).passed
