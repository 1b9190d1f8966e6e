"""The admin API under /admin/prompts and the CLI's output: list, show, diff, history, compare, the gate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import httpx
from support.prompts import PromptKit, prompt_doc

from gateway.db import Database
from gateway.db.evals import EvalRun
from gateway.db.logs import RequestLog


def _two_versions(kit: PromptKit, stem: str) -> str:
    name = kit.name(stem)
    kit.api_push(prompt_doc(name))
    doc = prompt_doc(name, parameters={"temperature": 0.7, "max_tokens": 300})
    doc["messages"][1]["content"] = "Customer {{ customer_name }} writes: {{ question }}"
    kit.api_push(doc)
    return name


def test_the_admin_api_needs_the_master_key(kit: PromptKit) -> None:
    anonymous = httpx.get(kit.gw.url + "/admin/prompts")
    assert anonymous.status_code == 401
    assert kit.admin.get("/admin/prompts").status_code == 200


def test_push_list_and_show_over_the_admin_api(kit: PromptKit) -> None:
    name = kit.name("api")
    assert [r["status"] for r in kit.api_push(prompt_doc(name))] == ["created"]
    assert [r["status"] for r in kit.api_push(prompt_doc(name))] == ["unchanged"]
    listed = {p["name"]: p for p in kit.admin.get("/admin/prompts").json()["data"]}
    assert listed[name]["versions"] == 1
    assert [(label["label"], label["version"]) for label in listed[name]["labels"]] == [("latest", 1)]
    shown = kit.admin.get(f"/admin/prompts/{name}@1").json()
    assert shown["version"] == 1 and shown["content"]["model"] == "gpt-4o-mini" and shown["labels"] == ["latest"]


def test_the_admin_api_names_what_is_wrong(kit: PromptKit) -> None:
    bad = kit.admin.post("/admin/prompts", json={"prompts": ["name: x\nmessages: []\n"]})
    assert bad.status_code == 400 and "prompts[0]" in bad.json()["error"]["message"]
    missing = kit.admin.get("/admin/prompts/no-such-prompt-xyz")
    assert missing.status_code == 404 and "no-such-prompt-xyz" in missing.json()["error"]["message"]
    name = kit.name("gated")
    kit.api_push(prompt_doc(name, eval_suite="never-run-suite"))
    refused = kit.admin.post(f"/admin/prompts/{name}/release", json={"version": 1})
    assert refused.status_code == 409
    assert "never-run-suite" in refused.json()["error"]["message"]


def test_diff_over_the_api_and_coloured_in_the_cli(kit: PromptKit) -> None:
    name = _two_versions(kit, "diff")
    parts = {p["title"]: p["lines"] for p in kit.admin.get(f"/admin/prompts/{name}/diff?a=1&b=latest").json()["parts"]}
    assert "-Customer {{ customer_name }} asks: {{ question }}" in parts["messages"]
    assert "+Customer {{ customer_name }} writes: {{ question }}" in parts["messages"]
    assert "-  temperature: 0.2" in parts["model and parameters"]
    assert "+  temperature: 0.7" in parts["model and parameters"]
    result = kit.cli("diff", name, "1", "2")
    assert "+Customer {{ customer_name }} writes" in result.output
    coloured = kit.cli("diff", name, "1", "2", color=True)
    assert "\x1b[32m+Customer" in coloured.output and "\x1b[31m-Customer" in coloured.output


def test_release_history_and_a_forced_gate_are_visible_in_the_cli(kit: PromptKit) -> None:
    name = kit.name("hist")
    kit.api_push(prompt_doc(name, eval_suite="never-run-suite"))
    refused = kit.cli("release", name, "--version", "1", "--actor", "ann", ok=False)
    assert refused.exit_code == 1 and "no eval run of suite 'never-run-suite'" in refused.output
    forced = kit.cli("release", name, "--version", "1", "--force", "--actor", "ann")
    assert "eval gate overridden with --force" in forced.output
    history = kit.cli("history", name)
    assert "release" in history.output and "FORCED" in history.output and "ann" in history.output
    shown = kit.cli("show", f"{name}@production")
    assert f"{name}@1" in shown.output and "Customer {{ customer_name }} asks" in shown.output


def test_rollback_without_history_fails_with_a_clear_message(kit: PromptKit) -> None:
    name = kit.name("norb")
    kit.api_push(prompt_doc(name))
    kit.api_release(name, 1)
    result = kit.cli("rollback", name, ok=False)
    assert result.exit_code == 1 and "no earlier version to roll back to" in result.output


def _log_rows(kit: PromptKit, name: str, version: int, total: int, errors: int, cost: float, latency: float) -> None:
    database = Database(kit.database_url())
    try:
        with database.session() as session, session.begin():
            for i in range(total):
                session.add(RequestLog(
                    request_id=uuid.uuid4().hex, created_at=datetime.now(UTC), endpoint="chat", model="gpt-4o-mini",
                    status=500 if i < errors else 200, latency_ms=latency, cost_usd=cost, prompt_name=name,
                    prompt_version=version,
                ))
    finally:
        database.dispose()


def _eval_run(kit: PromptKit, name: str, version: int, *, mean_score: float, passed: bool) -> None:
    database = Database(kit.database_url())
    try:
        with database.session() as session, session.begin():
            session.add(EvalRun(
                run_id=uuid.uuid4().hex, created_at=datetime.now(UTC), suite="s", suite_hash="0" * 64,
                prompt_name=name, prompt_version=version, passed=passed, pass_rate=0.5, mean_score=mean_score,
                total=2, passed_count=1, failed_count=1, error_count=0, duration_s=1.0,
            ))
    finally:
        database.dispose()


def test_compare_shows_each_variants_figures_and_whether_the_error_rate_differs(kit: PromptKit) -> None:
    name = _two_versions(kit, "cmp")
    kit.api_release(name, 1)
    kit.api_release(name, 2, canary=10)
    _log_rows(kit, name, 1, total=900, errors=9, cost=0.002, latency=100.0)
    _log_rows(kit, name, 2, total=100, errors=12, cost=0.001, latency=80.0)
    _eval_run(kit, name, 2, mean_score=0.75, passed=False)
    report = kit.admin.get(f"/admin/prompts/{name}/compare").json()
    variants = {v["version"]: v for v in report["variants"]}
    assert (variants[2]["eval_score"], variants[2]["eval_passed"]) == (0.75, False)
    assert variants[1]["eval_score"] is None
    assert variants[1]["role"] == "main" and variants[2]["role"] == "canary"
    assert (variants[1]["requests"], variants[1]["errors"]) == (900, 9)
    assert abs(variants[2]["error_rate"] - 0.12) < 1e-9
    assert abs(variants[2]["cost_per_request_usd"] - 0.001) < 1e-9
    assert abs(variants[1]["latency_ms_mean"] - 100.0) < 1e-6
    [test] = report["tests"]
    assert (test["version"], test["against"], test["significant"]) == (2, 1, True)
    assert test["p_value"] < 1e-5 and "Fisher" in test["test"]
    printed = kit.cli("compare", name).output
    assert "canary" in printed and "12.00% (12)" in printed and "significant" in printed and "0.75 fail" in printed
