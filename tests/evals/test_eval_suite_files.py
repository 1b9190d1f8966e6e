"""Loading suites: the promptfoo-like format, case files, and errors that name the file, the case and the field."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
from typer.testing import CliRunner

from gateway.cli.evals import eval_app
from gateway.evals.casefiles import parse_expected
from gateway.evals.loader import load_suite
from gateway.evals.model import SuiteError

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str, name: str = "suite.yaml") -> Path:
    path = tmp_path / name
    path.write_text(dedent(text))
    return path


def test_example_suites_load_with_inline_jsonl_and_csv_cases() -> None:
    suites = {p.stem: load_suite(p) for p in sorted((ROOT / "evals").glob("*.yaml"))}
    assert set(suites) == {"support-reply", "extract-json", "summarise"}
    assert [c.id for c in suites["extract-json"].cases][:2] == ["single-item", "several-items"]
    summarise = suites["summarise"]
    assert summarise.cases[0].id == "broken-kettle" and summarise.cases[0].description == "A complaint"
    similar = next(a for a in summarise.cases[0].asserts if a.type == "similar")
    assert similar.threshold == 0.5 and similar.value[0].startswith("A customer's kettle")
    support = suites["support-reply"]
    first = support.cases[0].asserts[0]
    assert (first.type, first.value, first.metric) == ("icontains", "Ada", "personalised")
    latency = support.cases[0].asserts[2]
    assert (latency.type, latency.threshold, latency.weight) == ("latency", 5000.0, 0.0)
    assert support.options.judge == "gpt-4o-mini" and support.threshold.pass_rate == 1.0


def test_defaults_merge_under_each_case_and_threshold_takes_both_forms(tmp_path: Path) -> None:
    suite = load_suite(write(tmp_path, """
        prompt: p
        threshold: {pass_rate: 0.5, mean_score: 0.7}
        defaultTest:
          vars: {lang: en, name: X}
          assert: [{type: contains, value: "{{ name }}"}]
        tests:
          - vars: {name: Ada}
            assert: [{type: not-equals, value: "", weight: 2, metric: m}]
          - description: second
            vars: {name: Bo}
            threshold: 0.4
    """))
    first, second = suite.cases
    assert first.id == "case-1" and first.vars == {"lang": "en", "name": "Ada"}
    assert [a.label for a in first.asserts] == ["contains", "not-equals"] and first.asserts[0].value == "Ada"
    assert second.id == "second" and second.threshold == 0.4 and second.asserts[0].value == "Bo"
    assert (suite.threshold.pass_rate, suite.threshold.mean_score) == (0.5, 0.7)


def test_content_hash_covers_the_files_a_suite_names(tmp_path: Path) -> None:
    path = write(tmp_path, "prompt: p\ncases: cases.jsonl\n")
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"vars": {"a": 1}, "assert": [{"type": "is-json"}]}\n')
    before = load_suite(path).content_hash
    cases.write_text('{"vars": {"a": 2}, "assert": [{"type": "is-json"}]}\n')
    assert load_suite(path).content_hash != before


@pytest.mark.parametrize(("cell", "expected"), [
    ("icontains:hello", {"type": "icontains", "value": "hello"}),
    ("not-regex:^A", {"type": "not-regex", "value": "^A"}),
    ("similar(0.8):a summary: with a colon", {"type": "similar", "value": "a summary: with a colon", "threshold": 0.8}),
    ("is-json", {"type": "is-json"}),
    ("latency:500", {"type": "latency", "threshold": 500.0}),
    ("Just the answer", {"type": "equals", "value": "Just the answer"}),
    ("contains", {"type": "equals", "value": "contains"}),
])
def test_csv_expected_cells_follow_promptfoo(cell: str, expected: dict[str, object]) -> None:
    assert parse_expected(cell, "x.csv: line 2") == expected


BAD = [
    ("prompt: p\ncases:\n  - vars: {a: 1}\n    assert: [{type: contans, value: x}]\n",
     "suite.yaml: cases[0] (case 'case-1'): assert[0].type: unknown assertion type 'contans' "
     "(did you mean 'contains'?)"),
    ("prompt: p\ncases:\n  - id: greet\n    assert: [{type: contains}]\n",
     "suite.yaml: cases[0] (case 'greet'): assert[0].value: required"),
    ("prompt: p\ncases:\n  - id: r\n    assert: [{type: regex, value: '(unclosed'}]\n",
     "(case 'r'): assert[0].value: not a valid regular expression"),
    ("prompt: p\ncases:\n  - id: v\n    assert: [{type: icontains, value: '{{ nme }}'}]\n    vars: {name: A}\n",
     "(case 'v'): assert[0].value: cannot render with the case's vars: 'nme' is undefined"),
    ("prompt: p\ncases:\n  - id: w\n    assert: [{type: contains, value: x, weight: heavy}]\n",
     "(case 'w'): assert[0].weight: must be a number, got str"),
    ("prompt: p\ncases:\n  - id: l\n    assert: [{type: latency}]\n",
     "(case 'l'): assert[0].threshold: required for `latency`"),
    ("prompt: p\ncases:\n  - id: py\n    assert: [{type: python, value: 'file://missing.py'}]\n",
     "(case 'py'): assert[0].value: no Python file 'missing.py' beside the suite"),
    ("prompt: p\ndefaults:\n  assert: [{type: equals}]\ncases:\n  - id: d\n",
     "(case 'd'): defaults.assert[0].value: required"),
    ("prompt: p\ncases:\n  - id: e\n", "(case 'e'): assert: the case has no assertions"),
    ("prompt: p\ncases:\n  - {id: a, assert: [{type: is-json}]}\n  - {id: a, assert: [{type: is-json}]}\n",
     "suite.yaml: cases[1] (case 'a'): id: 'a' is used by another case"),
    ("prompt: p\ncases:\n  - id: x\n    asert: []\n", "suite.yaml: cases[0]: asert: unknown field"),
    ("cases: []\n", "suite.yaml: prompt: required"),
    ("prompt: p\nthreshold: 1.5\ncases: [{assert: [{type: is-json}]}]\n", "suite.yaml: threshold: must be a number"),
    ("prompt: p\ncases: nowhere.csv\n", "suite.yaml: cases[0]: cannot read case file"),
    ("prompt: [unclosed\n", "suite.yaml: not valid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD, ids=[m.split(": ")[-1][:30] for _, m in BAD])
def test_a_bad_suite_names_the_file_the_case_and_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError) as caught:
        load_suite(path)
    assert str(caught.value).startswith(str(path)) and message.removeprefix("suite.yaml") in str(caught.value)


def test_bad_rows_in_case_files_name_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, 'q,__expected\n"a",contains:a\n"b",contains:b,extra\n', "cases.csv")
    with pytest.raises(SuiteError, match=r"cases\.csv: line 3: more cells than the header"):
        load_suite(write(tmp_path, "prompt: p\ncases: file://cases.csv\n"))
    lines = ['{"vars": {}, "assert": [{"type": "is-json"}]}', "", '{"vars": {"a": 1}, "assert": [{"type": "equ"}]}']
    write(tmp_path, "\n".join(lines) + "\n", "cases.jsonl")
    with pytest.raises(SuiteError, match=r"cases\.jsonl: line 3 \(case 'case-2'\): assert\[0\]\.type: unknown"):
        load_suite(write(tmp_path, "prompt: p\ncases: cases.jsonl\n"))


def test_validate_and_run_exit_2_on_a_bad_suite(tmp_path: Path) -> None:
    bad = write(tmp_path, "prompt: p\ncases:\n  - id: one\n    assert: [{type: nope}]\n")
    good = ROOT / "evals" / "support-reply.yaml"
    runner = CliRunner()
    result = runner.invoke(eval_app, ["validate", str(good), str(bad)])
    assert result.exit_code == 2
    assert "support-reply.yaml: ok (4 cases" in result.output
    assert f"{bad}: cases[0] (case 'one'): assert[0].type: unknown assertion type 'nope'" in result.output
    run = subprocess.run([sys.executable, "-m", "gateway", "eval", "run", str(bad), "--gateway", "http://127.0.0.1:9"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "(case 'one'): assert[0].type" in run.stderr


def test_run_refuses_contradicting_options_with_exit_2(tmp_path: Path) -> None:
    suite = ROOT / "evals" / "support-reply.yaml"
    result = CliRunner().invoke(eval_app, ["run", str(suite), "--prompt-version", "2", "--label", "staging",
                                           "--gateway", "http://127.0.0.1:9"])
    assert result.exit_code == 2 and "not both" in result.output
    result = CliRunner().invoke(eval_app, ["run", str(suite)], env={"GATEWAY_URL": ""})
    assert result.exit_code == 2 and "--gateway URL" in result.output
