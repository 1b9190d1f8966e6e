"""A markdown summary of a run, short enough for a pull request's job summary (``$GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from typing import Any

_MAX_ROWS = 25


def markdown(report: dict[str, Any]) -> str:
    s = report["summary"]
    icon = "✅" if report["passed"] else "❌"
    verdict = "passed" if report["passed"] else ("failed" if not report["threshold_met"] else "regressed")
    threshold = report["threshold"]
    lines = [
        f"### {icon} Eval `{report['suite']}` on `{report['target']}`: {verdict}",
        "",
        "| pass rate | threshold | mean score | cases | passed | failed | errors | cost | mean latency |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        f"| {s['pass_rate']:.1%} | {_threshold(threshold)} | {s['mean_score']:.3f} | {s['total']} | {s['passed']} "
        f"| {s['failed']} | {s['errors']} | {_usd(s['cost_usd'])} | {_ms(s['mean_latency_ms'])} |",
        "",
    ]
    if s["metrics"]:
        lines += ["| metric | mean score |", "| --- | --- |"]
        lines += [f"| {name} | {score:.3f} |" for name, score in s["metrics"].items()]
        lines.append("")
    comparison = report.get("comparison")
    if comparison:
        lines += _comparison(comparison, report.get("max_drop"))
    failing = [c for c in report["cases"] if c["status"] != "pass"]
    if failing:
        lines += [f"**Failing cases ({len(failing)})**", "", "| case | status | reason |", "| --- | --- | --- |"]
        lines += [f"| {_cell(c['id'])} | {c['status']} | {_cell(c['reason'], 300)} |" for c in failing[:_MAX_ROWS]]
        if len(failing) > _MAX_ROWS:
            lines.append(f"| … | | {len(failing) - _MAX_ROWS} more in the HTML and JUnit reports |")
        lines.append("")
    lines.append(f"<sub>run `{report['run_id']}` · suite hash `{report['suite_hash'][:12]}` · "
                 f"{report['duration_s']:.1f} s · {s['cached']} cached</sub>")
    return "\n".join(lines) + "\n"


def _comparison(comparison: dict[str, Any], max_drop: float | None) -> list[str]:
    before, after = comparison["pass_rate"]
    lines = [f"**Against baseline `{comparison['baseline']}`**: pass rate {before:.1%} → {after:.1%}"
             + (f" (allowed drop {max_drop:.1%})" if max_drop is not None else ""), ""]
    for title, key in (("Newly failing", "newly_failing"), ("Newly passing", "newly_passing")):
        items = comparison[key]
        if items:
            lines.append(f"- {title} ({len(items)}): " + ", ".join(f"`{_cell(i['case'])}`" for i in items[:_MAX_ROWS]))
    lines.append("")
    return lines


def _threshold(threshold: dict[str, float]) -> str:
    text = f"≥ {threshold['pass_rate']:.0%}"
    if "mean_score" in threshold:
        text += f", score ≥ {threshold['mean_score']:.2f}"
    return text


def _usd(value: float | None) -> str:
    return "n/a" if value is None else f"${value:.4f}"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


def _cell(text: str | None, limit: int = 120) -> str:
    flat = " ".join((text or "").split()).replace("|", "\\|")
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
