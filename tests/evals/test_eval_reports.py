"""Reports are well formed: JUnit XML parses with failures and errors apart, the HTML page is self-contained and
escapes what the model wrote, the markdown names the failing cases, and the JSON round-trips."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from gateway.evals.assertions import AssertionOutcome
from gateway.evals.model import AssertionSpec, Case, Threshold
from gateway.evals.reports import run_dict
from gateway.evals.reports.html import html_page
from gateway.evals.reports.junit import junit_xml
from gateway.evals.reports.markdown import markdown
from gateway.evals.results import CaseResult, RunResult, score_case

HOSTILE = '<script>alert("x")</script> & "quotes"'


def sample_report() -> dict[str, object]:
    def result(case_id: str, passed: bool | None, output: str = "fine") -> CaseResult:
        case = Case(case_id, f"about {case_id}", {"q": case_id}, (AssertionSpec("contains", value="x"),))
        r = CaseResult(case, output=output if passed is not None else None, latency_ms=12.5, cost_usd=0.0001,
                       error="HTTP 503: the provider is unavailable" if passed is None else None)
        if passed is not None:
            r.assertions = [
                AssertionOutcome("contains", "on-topic", 1.0, passed, float(passed),
                                 "found 'x'" if passed else "did not find 'refund' in the output"),
                AssertionOutcome("latency", "latency", 0.0, False, 0.0, "latency 9000 ms > 5000 ms"),
            ]
        score_case(r)
        return r

    run = RunResult(
        run_id="run_0123456789ab", suite_name="support-reply", suite_hash="f" * 64, suite_path="evals/s.yaml",
        prompt_name="support-reply", prompt_version=2, label=None, threshold=Threshold(0.5), models=[],
        results=[result("ok-case", True), result("bad-case", False, HOSTILE), result("down-case", None)],
        created_at=datetime(2026, 11, 27, tzinfo=UTC), duration_s=1.25, git_sha="abc123",
    )
    return run_dict(run)


def test_junit_xml_parses_and_keeps_failures_and_errors_apart() -> None:
    root = ET.fromstring(junit_xml(sample_report()).encode())
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "support-reply"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"ok-case", "bad-case", "down-case"}
    assert cases["ok-case"].find("failure") is None and cases["ok-case"].find("error") is None
    failure = cases["bad-case"].find("failure")
    assert failure is not None and "did not find 'refund'" in (failure.get("message") or "")
    assert "FAIL contains" in (failure.text or "") and "FAIL latency" in (failure.text or "")
    assert cases["bad-case"].findtext("system-out") == HOSTILE
    error = cases["down-case"].find("error")
    assert error is not None and "HTTP 503" in (error.get("message") or "")
    assert cases["down-case"].find("failure") is None
    props = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert props["target"] == "support-reply@2" and props["git_sha"] == "abc123"


def test_html_page_is_self_contained_and_escapes_model_output() -> None:
    page = html_page(sample_report())
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "src=" not in page and "<link" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;quotes&#34;" in page
    assert "bad-case" in page and "HTTP 503" in page and "failed" in page


def test_markdown_summary_names_the_failing_cases() -> None:
    text = markdown(sample_report())
    assert text.startswith("### ❌ Eval `support-reply` on `support-reply@2`: failed")
    assert "| 33.3% | ≥ 50% |" in text
    assert "| bad-case | fail | contains: did not find 'refund' in the output |" in text
    assert "| down-case | error | HTTP 503" in text and "ok-case" not in text


def test_json_report_round_trips_with_per_case_assertions() -> None:
    report = json.loads(json.dumps(sample_report()))
    assert report["passed"] is False and report["summary"]["errors"] == 1
    bad = next(c for c in report["cases"] if c["id"] == "bad-case")
    assert bad["status"] == "fail" and bad["assertions"][0]["reason"].startswith("did not find")
    assert bad["assertions"][1]["weight"] == 0.0 and bad["score"] == 0.0
