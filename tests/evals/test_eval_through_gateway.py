"""``gateway eval`` end to end: the CLI as a subprocess, a real gateway process, the fake provider upstream.

The example suites pass on the example prompts and fail on a deliberately broken version, naming its cases;
a drop against the baseline fails even above the threshold; transient upstream errors are retried and what
still fails is an error, not a failure; a repeat run comes from the run cache.
"""

from __future__ import annotations

import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from support.evals import ROOT, EvalKit
from typer.testing import Result

from gateway.cli.evals import eval_app
from gateway.cli.prompts import prompts_app

SUPPORT = ROOT / "evals" / "support-reply.yaml"


def report(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


@pytest.mark.parametrize("suite", sorted(p.name for p in (ROOT / "evals").glob("*.yaml")))
def test_every_example_suite_passes_on_the_example_prompts(eval_kit: EvalKit, suite: str) -> None:
    out = eval_kit.workdir / f"example-{suite}.json"
    done = eval_kit.run_remote(ROOT / "evals" / suite, "--prompt-version", "1", "--json", str(out), "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    data = report(out)
    assert data["passed"] and data["summary"]["errors"] == 0 and data["summary"]["failed"] == 0
    assert data["prompt_version"] == 1 and "PASSED" in done.stdout


def test_a_broken_prompt_version_fails_and_names_every_broken_case(eval_kit: EvalKit) -> None:
    junit = eval_kit.workdir / "broken.xml"
    markdown = eval_kit.workdir / "broken.md"
    done = eval_kit.run_remote(SUPPORT, "--prompt-version", "2", "--junit", str(junit), "--markdown", str(markdown))
    assert done.returncode == 1, done.stdout + done.stderr
    for case, name in (("order-status", "Ada"), ("refund-broken-kettle", "Grace"), ("password-reset", "Alan"),
                       ("opening-hours", "Katherine")):
        assert case in done.stdout and f"did not find '{name}'" in done.stdout
        assert f"| {case} | fail | icontains: did not find '{name}'" in markdown.read_text()
    assert "FAILED (below the threshold)" in done.stdout
    suite = ET.fromstring(junit.read_bytes()).find("testsuite")
    assert suite is not None and (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("4", "4", "0")


def test_the_release_gate_follows_the_stored_runs(eval_kit: EvalKit) -> None:
    assert eval_kit.run_here(SUPPORT, "--prompt-version", "2").exit_code == 1
    assert eval_kit.run_here(SUPPORT, "--prompt-version", "1").exit_code == 0

    def release(version: int) -> Result:
        return eval_kit.invoke(prompts_app, "release", "support-reply", "--version", str(version),
                               "--label", "production", "--config", str(eval_kit.config_path))

    refused = release(2)
    assert refused.exit_code != 0 and "did not pass" in refused.output
    accepted = release(1)
    assert accepted.exit_code == 0, accepted.output


def test_a_pass_rate_drop_against_the_baseline_fails_even_above_the_threshold(eval_kit: EvalKit) -> None:
    suite = eval_kit.suite("half-named", {
        "prompt": "support-reply",
        "threshold": 0.25,
        "cases": [
            {"id": f"named-{n}", "vars": {"customer_name": n, "question": "Where is my parcel?"},
             "assert": [{"type": "icontains", "value": "{{ customer_name }}", "metric": "personalised"}]}
            for n in ("Ada", "Grace")
        ] + [
            {"id": f"topic-{i}", "vars": {"customer_name": "Bo", "question": f"Is order {i} late?"},
             "assert": [{"type": "contains", "value": f"order {i}", "metric": "on-topic"}]}
            for i in (1, 2)
        ],
    })
    out = eval_kit.workdir / "drop.json"
    strict = eval_kit.run_here(suite, "--prompt-version", "2", "--baseline", "1", "--max-drop", "0.05",
                               "--json", str(out))
    assert strict.exit_code == 1, strict.output
    data = report(out)
    assert data["threshold_met"] and data["regressed"] and data["summary"]["pass_rate"] == 0.5
    assert [c["case"] for c in data["comparison"]["newly_failing"]] == ["named-Ada", "named-Grace"]
    assert "dropped more than 5.0% below the baseline" in strict.output
    lenient = eval_kit.run_here(suite, "--prompt-version", "2", "--baseline", "1", "--max-drop", "0.6")
    assert lenient.exit_code == 0, lenient.output

    compared = eval_kit.invoke(eval_app, "compare", str(suite), "--baseline", "1", "--candidate", "2",
                               "--database-url", eval_kit.database_url)
    assert compared.exit_code == 1 and "Newly failing (2)" in compared.output and "named-Grace" in compared.output
    assert "personalised" in compared.output and "-1.000" in compared.output
    history = eval_kit.invoke(eval_app, "history", "half-named", "--database-url", eval_kit.database_url)
    assert history.exit_code == 0 and history.output.count("support-reply@2") >= 2
    assert "support-reply@1" in history.output


def test_transient_upstream_errors_are_retried(eval_kit: EvalKit) -> None:
    eval_kit.fake.add_fault(model="flaky-eval", kind="status", status=503, count=2)
    suite = eval_kit.suite("flaky", {
        "prompt": "support-reply", "models": ["flaky-eval"],
        "cases": [{"id": "one", "vars": {"customer_name": "Ada", "question": "Hi?"},
                   "assert": [{"type": "icontains", "value": "ada"}]}],
    })
    done = eval_kit.run_here(suite, "--prompt-version", "1", "--no-cache")
    assert done.exit_code == 0, done.output
    assert eval_kit.fake.count("flaky-eval") == 3  # two 503s through the gateway, then the answer


def test_a_case_that_still_errors_is_an_error_not_a_failure(eval_kit: EvalKit) -> None:
    eval_kit.fake.add_fault(model="down-eval", kind="status", status=503)
    suite = eval_kit.suite("down", {
        "prompt": "support-reply", "models": ["down-eval"], "threshold": 0.0,
        "cases": [{"id": "unreachable", "vars": {"customer_name": "Ada", "question": "Hi?"},
                   "assert": [{"type": "icontains", "value": "ada"}]}],
    })
    out, junit = eval_kit.workdir / "down.json", eval_kit.workdir / "down.xml"
    done = eval_kit.run_here(suite, "--prompt-version", "1", "--retries", "2", "--json", str(out),
                             "--junit", str(junit), "--no-cache")
    assert done.exit_code == 0, done.output  # threshold 0: errors are reported, not judged
    data = report(out)
    assert (data["summary"]["errors"], data["summary"]["failed"]) == (1, 0)
    assert data["cases"][0]["status"] == "error" and "HTTP 503" in data["cases"][0]["error"]
    assert eval_kit.fake.count("down-eval") == 3  # the first try and two retries
    case = ET.fromstring(junit.read_bytes()).find("testsuite/testcase")
    assert case is not None and case.find("error") is not None and case.find("failure") is None


def test_an_in_process_run_is_logged_with_its_tags_and_repeated_from_the_cache(eval_kit: EvalKit) -> None:
    suite = ROOT / "evals" / "extract-json.yaml"
    first, second = eval_kit.workdir / "first.json", eval_kit.workdir / "second.json"
    cache = ["--cache-dir", str(eval_kit.workdir / "cache-in-process")]
    before = eval_kit.fake.count("gpt-4o-mini")
    run = eval_kit.cli("run", str(suite), "--config", str(eval_kit.config_path), "--prompt-version", "1",
                       "--json", str(first), *cache)
    assert run.returncode == 0, run.stdout + run.stderr
    assert eval_kit.fake.count("gpt-4o-mini") == before + 4 and report(first)["summary"]["cached"] == 0
    again = eval_kit.invoke(eval_app, "run", str(suite), "--config", str(eval_kit.config_path),
                            "--json", str(second), *cache)
    assert again.exit_code == 0, again.output
    data = report(second)
    assert data["label"] == "latest" and data["prompt_version"] == 1
    assert data["summary"]["cached"] == 4 and eval_kit.fake.count("gpt-4o-mini") == before + 4
    with sqlite3.connect(eval_kit.database_url.removeprefix("sqlite:///")) as db:
        rows = db.execute("SELECT tags, prompt_name, prompt_version, cost_usd FROM request_logs "
                          "WHERE prompt_name = 'extract-json'").fetchall()
    tagged = [r for r in rows if "suite:extract-json" in json.loads(r[0])]
    assert len(tagged) >= 4 and all("eval" in json.loads(r[0]) and r[2] == 1 for r in tagged)
    assert all(r[3] is not None for r in tagged)


def test_judge_and_embedding_calls_go_through_the_gateway(eval_kit: EvalKit) -> None:
    eval_kit.judge.reply = '{"reason": "too curt for a support reply", "score": 0.2, "pass": false}'
    expected = "Echo: Customer Ada asks: Where is my parcel?"
    suite = eval_kit.suite("judged", {
        "prompt": "support-reply",
        "options": {"judge": "gpt-4o-mini", "embedding": "text-embedding-3-small"},
        "cases": [{"id": "judged", "vars": {"customer_name": "Ada", "question": "Where is my parcel?"}, "assert": [
            {"type": "llm-rubric", "value": "The reply greets Ada.", "metric": "fake-judge"},
            {"type": "llm-rubric", "value": "The reply is warm.", "provider": "judge-stub", "metric": "stub-judge"},
            {"type": "factuality", "value": "The parcel is on its way.", "metric": "facts"},
            {"type": "similar", "value": expected, "threshold": 0.99, "metric": "same"},
        ]}],
    })
    out = eval_kit.workdir / "judged.json"
    before = eval_kit.fake.count("text-embedding-3-small", "/v1/embeddings")
    done = eval_kit.run_here(suite, "--prompt-version", "1", "--json", str(out), "--no-cache")
    assert done.exit_code == 1, done.output
    outcomes = {a["metric"]: a for a in report(out)["cases"][0]["assertions"]}
    # The fake provider fills the judge's JSON schema deterministically: score 1, pass true, choice A.
    assert outcomes["fake-judge"]["pass"] and outcomes["fake-judge"]["score"] == 1.0
    assert outcomes["facts"]["pass"] and "chose (A)" in outcomes["facts"]["reason"]
    # The stub judge's verdict is whatever the test set.
    assert not outcomes["stub-judge"]["pass"] and outcomes["stub-judge"]["score"] == 0.2
    assert "too curt for a support reply" in outcomes["stub-judge"]["reason"]
    judged = eval_kit.judge.requests[-1]
    assert judged["model"] == "judge-stub" and "The reply is warm." in judged["messages"][-1]["content"]
    assert expected in judged["messages"][-1]["content"]
    assert judged["response_format"]["type"] == "json_schema"
    assert outcomes["same"]["pass"] and outcomes["same"]["score"] == pytest.approx(1.0)
    assert eval_kit.fake.count("text-embedding-3-small", "/v1/embeddings") == before + 1


def test_repeat_runs_every_case_again_as_its_own_case(eval_kit: EvalKit) -> None:
    out = eval_kit.workdir / "repeat.json"
    done = eval_kit.run_here(SUPPORT, "--prompt-version", "1", "--repeat", "2", "--json", str(out), "--no-cache")
    assert done.exit_code == 0, done.output
    ids = [c["id"] for c in report(out)["cases"]]
    assert len(ids) == 8 and "order-status" in ids and "order-status #2" in ids
