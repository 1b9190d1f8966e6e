"""JUnit XML: one ``testsuite`` per run, one ``testcase`` per case; failures and errors kept apart."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any


def junit_xml(report: dict[str, Any]) -> str:
    summary = report["summary"]
    attributes = {
        "tests": str(summary["total"]),
        "failures": str(summary["failed"]),
        "errors": str(summary["errors"]),
        "skipped": "0",
        "time": f"{report['duration_s']:.3f}",
    }
    root = ET.Element("testsuites", {"name": "gateway eval", **attributes})
    suite = ET.SubElement(root, "testsuite", {"name": report["suite"], "timestamp": report["created_at"],
                                               **attributes})
    properties = ET.SubElement(suite, "properties")
    for name in ("run_id", "target", "suite_hash", "git_sha"):
        if report.get(name) is not None:
            ET.SubElement(properties, "property", {"name": name, "value": str(report[name])})
    for case in report["cases"]:
        seconds = (case["latency_ms"] or 0) / 1000
        element = ET.SubElement(suite, "testcase", {
            "classname": f"evals.{report['suite']}" + (f".{case['model']}" if case["model"] else ""),
            "name": case["id"],
            "time": f"{seconds:.3f}",
        })
        if case["status"] == "error":
            error = ET.SubElement(element, "error", {"message": _one_line(case["error"]), "type": "error"})
            error.text = case["error"]
        elif case["status"] == "fail":
            failure = ET.SubElement(element, "failure", {"message": _one_line(case["reason"]), "type": "assertion"})
            failure.text = "\n".join(
                f"{'PASS' if a['pass'] else 'FAIL'} {a['type']} (score {a['score']:.2f}): {a['reason']}"
                for a in case["assertions"]
            )
        if case["output"] is not None:
            ET.SubElement(element, "system-out").text = case["output"]
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _one_line(text: str | None, limit: int = 300) -> str:
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
