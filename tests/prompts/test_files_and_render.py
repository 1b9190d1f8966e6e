"""Unit tests of single pieces: prompt files, content hashes, the sandboxed renderer, Fisher's test, the split."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

from gateway.prompts.errors import PromptFileError, RenderError
from gateway.prompts.loader import load_dir, parse
from gateway.prompts.quickcheck import QuickCheck
from gateway.prompts.reference import Reference, in_canary, parse_reference
from gateway.prompts.render import CompiledPrompt
from gateway.prompts.spec import content_hash
from gateway.prompts.stats import fisher_exact

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
name: greet
model: gpt-4o-mini
parameters: {temperature: 0.5}
messages:
  - role: system
    content: Be nice.
  - role: user
    content: "Hello {{ who }}"
variables:
  properties: {who: {type: string}}
  required: [who]
"""


def test_the_shipped_example_prompts_load_and_carry_their_eval_suites() -> None:
    loaded = {spec.name: spec for _, spec in load_dir(REPO / "prompts")}
    assert {"support-reply", "extract-json", "summarise"} <= loaded.keys()
    assert loaded["support-reply"].eval_suite == "support-reply"
    assert loaded["extract-json"].parameters.response_format == {"type": "json_object"}
    assert loaded["summarise"].parameters.max_tokens == 60
    last = (loaded["support-reply"].messages or [])[-1]
    assert last.role == "user" and "{{ question }}" in last.content


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("  - role: robot\n    content: hi\n", "prompt.yaml:9: messages[2].role: Input should be"),
        ("parameters: {temprature: 1}\n", "parameters.temprature: Extra inputs are not permitted"),
        ("temperature: 1\n", "temperature: model parameters belong under `parameters:`"),
        ("  - role: user\n    content: '{{ who }'\n", "messages[2].content: template syntax error"),
        ("  - role: user\n    content: '{{ whom }}'\n", "messages[2].content: uses whom, which `variables` does not"),
        ("locked: [seed]\n", "locked: seed is locked but the prompt does not set it"),
    ],
)
def test_an_invalid_prompt_file_is_reported_with_file_line_and_field(change: str, expected: str) -> None:
    if change.startswith("  - "):
        text = GOOD.replace("variables:", change.rstrip("\n") + "\nvariables:")
    elif change.startswith("parameters"):
        text = GOOD.replace("parameters: {temperature: 0.5}\n", change)
    else:
        text = GOOD + change
    with pytest.raises(PromptFileError) as caught:
        parse(text, "prompt.yaml")
    assert expected in str(caught.value)


def test_a_folder_with_two_prompts_of_the_same_name_is_refused_naming_both_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(PromptFileError, match=r"b\.yaml: name: 'greet' is also the name of .*a\.yaml"):
        load_dir(tmp_path)


def test_the_content_hash_ignores_layout_and_key_order_but_not_content() -> None:
    reordered = yaml.safe_dump(yaml.safe_load(GOOD), sort_keys=True, default_flow_style=False)
    first, second = parse(GOOD), parse(reordered)
    assert content_hash(first.content()) == content_hash(second.content())
    changed = parse(GOOD.replace("Be nice.", "Be very nice."))
    assert content_hash(changed.content()) != content_hash(first.content())


def _compiled(template: str, schema: dict[str, object] | None = None) -> CompiledPrompt:
    content: dict[str, object] = {"messages": [{"role": "user", "content": template}]}
    if schema is not None:
        content["variables"] = schema
    return CompiledPrompt("t@1", content)


def test_rendering_fills_every_variable() -> None:
    rendered = _compiled("Hi {{ who }}, {{ items | join(', ') }}").render({"who": "Ada", "items": ["a", "b"]})
    assert rendered == [{"role": "user", "content": "Hi Ada, a, b"}]


def test_a_missing_variable_is_an_error_naming_it_never_a_blank() -> None:
    with pytest.raises(RenderError) as caught:
        _compiled("Hi {{ who }} about {{ topic }}").render({"who": "Ada"})
    assert "`topic`" in str(caught.value) and "`who`" not in str(caught.value)
    assert caught.value.param == "prompt_variables.topic"


def test_a_missing_attribute_of_a_variable_is_an_error_too() -> None:
    with pytest.raises(RenderError, match="has no attribute 'city'"):
        _compiled("{{ address.city }}").render({"address": {"street": "x"}})


def test_variables_are_checked_against_the_declared_schema() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    with pytest.raises(RenderError) as caught:
        _compiled("{{ n }}", schema).render({"n": "three"})
    assert "prompt_variables.n" in str(caught.value) and "'three' is not of type 'integer'" in str(caught.value)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ who.__class__ }}",
        "{{ (1).__class__.__base__ }}",
        "{{ lipsum.__globals__['os'] }}",
        "{% set x = [] %}{{ x.append(1) }}",
    ],
)
def test_the_sandbox_refuses_python_internals(template: str) -> None:
    with pytest.raises(RenderError, match=r"sandbox refused|unsafe"):
        _compiled(template).render({"who": "Ada"})


def test_references_parse_into_name_version_and_label() -> None:
    assert parse_reference("support") == Reference("support")
    assert parse_reference("support@3") == Reference("support", version=3)
    assert parse_reference("support@staging") == Reference("support", label="staging")
    for bad in ("", "@3", "a/b", "support@"):
        with pytest.raises(ValueError):
            parse_reference(bad)


@pytest.mark.parametrize(
    ("table", "p_value"),
    [
        # Fisher's tea-tasting table, and scipy.stats.fisher_exact's documented example.
        ((3, 1, 1, 3), 0.4857142857),
        ((1, 9, 11, 3), 0.0027594562),
        ((0, 100, 0, 100), 1.0),
        ((5, 995, 5, 995), 1.0),
    ],
)
def test_fisher_exact_matches_known_p_values(table: tuple[int, int, int, int], p_value: float) -> None:
    assert math.isclose(fisher_exact(*table), p_value, rel_tol=1e-6)


def test_fisher_exact_finds_a_real_difference_in_error_rate_and_not_a_chance_one() -> None:
    assert fisher_exact(30, 170, 20, 1780) < 1e-10  # 15% vs 1.1% errors
    assert fisher_exact(3, 197, 20, 1780) > 0.3  # 1.5% vs 1.1%: chance


def test_canary_assignment_is_stable_and_near_the_percentage() -> None:
    callers = [f"user:{i}" for i in range(20_000)]
    chosen = [in_canary("support", caller, 10) for caller in callers]
    assert chosen == [in_canary("support", caller, 10) for caller in callers]
    assert 1_800 < sum(chosen) < 2_200  # 10% of 20,000, sd 42: these bounds are 4.7 sd
    assert not any(in_canary("support", caller, 0) for caller in callers[:1000])
    assert all(in_canary("support", caller, 100) for caller in callers[:1000])
    other = [in_canary("another-prompt", caller, 10) for caller in callers]
    assert other != chosen  # each prompt splits its callers independently


QUICK_SCHEMAS = [
    {"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 4}}, "required": ["s"]},
    {"type": "object", "properties": {"i": {"type": "integer", "minimum": 0, "maximum": 3}}},
    {"type": "object", "properties": {"n": {"type": "number"}, "b": {"type": "boolean"}},
     "additionalProperties": False},
    {"type": "object", "properties": {"e": {"enum": ["a", "b"]}, "x": {"type": "null"}}},
    {"type": "object", "properties": {"l": {"type": "array"}, "o": {"type": "object"}}, "required": ["l"]},
]
QUICK_VALUES = ["", "ab", "abcde", 0, 1, 2.5, -1, 4, True, False, None, [], [1], {}, {"k": 1}, "a", "b", 1.0]


@pytest.mark.parametrize("schema", QUICK_SCHEMAS)
def test_the_quick_schema_check_never_accepts_what_jsonschema_refuses(schema: dict[str, object]) -> None:
    quick = QuickCheck.compile(schema)
    assert quick is not None
    validator = Draft202012Validator(schema)
    names = [*list(schema["properties"]), "other"]  # type: ignore[call-overload]
    accepted = 0
    for name in names:
        for value in QUICK_VALUES:
            for variables in ({name: value}, {name: value, **{n: "ab" for n in names if n != name}}):
                if quick.accepts(variables):
                    accepted += 1
                    assert validator.is_valid(variables), (schema, variables)
    assert accepted > 0  # it does take the fast path for valid variables


def test_the_quick_schema_check_steps_aside_for_keywords_it_does_not_know() -> None:
    assert QuickCheck.compile({"type": "object", "properties": {"s": {"type": "string", "pattern": "^a"}}}) is None
    assert QuickCheck.compile({"type": "object", "properties": {"s": {"type": ["string", "null"]}}}) is None
    assert QuickCheck.compile({"type": "object", "allOf": []}) is None
