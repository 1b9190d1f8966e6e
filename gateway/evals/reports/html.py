"""A self-contained HTML page of a run: no scripts, no external files; styles inline. Everything from the run
(outputs, vars, reasons) is escaped by Jinja2's autoescaping."""

from __future__ import annotations

import json
from typing import Any

from jinja2 import Environment

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Eval {{ r.suite }} on {{ r.target }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2328;padding:0 1rem}
h1{font-size:1.4rem;margin:0 0 .3rem}.muted{color:#656d76}
.badge{display:inline-block;padding:.15rem .6rem;border-radius:1rem;color:#fff;font-weight:600}
.pass{background:#1a7f37}.fail{background:#cf222e}.error{background:#9a6700}
.cards{display:flex;gap:.8rem;flex-wrap:wrap;margin:1rem 0}
.card{border:1px solid #d0d7de;border-radius:8px;padding:.6rem 1rem;min-width:7rem}
.card b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;margin:.6rem 0 1.4rem}
th,td{border-bottom:1px solid #d0d7de;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}tr.fail td:first-child{border-left:4px solid #cf222e}
tr.error td:first-child{border-left:4px solid #9a6700}tr.pass td:first-child{border-left:4px solid #1a7f37}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f8fa;padding:.5rem;border-radius:6px;margin:.3rem 0}
details summary{cursor:pointer}
</style></head><body>
<h1>Eval <code>{{ r.suite }}</code> on <code>{{ r.target }}</code>
 <span class="badge {{ 'pass' if r.passed else 'fail' }}">{{ 'passed' if r.passed else
 ('failed' if not r.threshold_met else 'regressed') }}</span></h1>
<div class="muted">run {{ r.run_id }} · {{ r.created_at }} · suite {{ r.suite_path }} (hash {{ r.suite_hash[:12] }})
{% if r.git_sha %} · commit {{ r.git_sha[:12] }}{% endif %} · {{ '%.1f' % r.duration_s }} s</div>
<div class="cards">
<div class="card">pass rate<b>{{ '%.1f' % (s.pass_rate * 100) }}%</b>threshold {{ '%.0f' % (r.threshold.pass_rate * 100)
}}%</div>
<div class="card">mean score<b>{{ '%.3f' % s.mean_score }}</b>{% if r.threshold.mean_score is defined %}threshold {{
r.threshold.mean_score }}{% endif %}</div>
<div class="card">cases<b>{{ s.total }}</b>{{ s.passed }} passed</div>
<div class="card">failed<b>{{ s.failed }}</b>assertions</div>
<div class="card">errors<b>{{ s.errors }}</b>no answer</div>
<div class="card">cost<b>{{ 'n/a' if s.cost_usd is none else '$%.4f' % s.cost_usd }}</b>{{ s.cached }} cached</div>
<div class="card">mean latency<b>{{ 'n/a' if s.mean_latency_ms is none else '%.0f ms' % s.mean_latency_ms }}</b></div>
</div>
{% if s.metrics %}<h2>Metrics</h2><table><tr><th>metric</th><th>mean score</th></tr>
{% for name, score in s.metrics.items() %}<tr><td>{{ name }}</td><td>{{ '%.3f' % score }}</td></tr>{% endfor %}
</table>{% endif %}
{% if c %}<h2>Against baseline {{ c.baseline }}</h2>
<p>pass rate {{ '%.1f' % (c.pass_rate[0] * 100) }}% → {{ '%.1f' % (c.pass_rate[1] * 100) }}%</p>
<table><tr><th>change</th><th>case</th><th>reason</th></tr>
{% for item in c.newly_failing %}<tr class="fail"><td>newly failing</td><td>{{ item.case }}</td>
<td>{{ item.reason }}</td></tr>{% endfor %}
{% for item in c.newly_passing %}<tr class="pass"><td>newly passing</td><td>{{ item.case }}</td><td></td></tr>
{% endfor %}</table>{% endif %}
<h2>Cases</h2>
<table><tr><th>case</th><th>status</th><th>score</th><th>latency</th><th>details</th></tr>
{% for case in r.cases %}<tr class="{{ case.status }}"><td>{{ case.id }}{% if case.description and case.description
 != case.case %}<div class="muted">{{ case.description }}</div>{% endif %}</td>
<td><span class="badge {{ case.status }}">{{ case.status }}</span>{% if case.cached %}<div class="muted">cached</div>
{% endif %}</td><td>{{ '%.2f' % case.score }}</td>
<td>{{ '' if case.latency_ms is none else '%.0f ms' % case.latency_ms }}</td>
<td>{% if case.reason %}<div>{{ case.reason }}</div>{% endif %}
<details><summary>vars, output, assertions</summary>
<pre>{{ dumps(case.vars) }}</pre><pre>{{ case.output if case.output is not none else case.error }}</pre>
<table>{% for a in case.assertions %}<tr class="{{ 'pass' if a.pass else 'fail' }}"><td>{{ a.type }}</td>
<td>{{ a.metric }}</td><td>{{ '%.2f' % a.score }} &times; {{ a.weight }}</td><td>{{ a.reason }}</td></tr>{% endfor %}
</table></details></td></tr>
{% endfor %}</table>
</body></html>
"""


def html_page(report: dict[str, Any]) -> str:
    env = Environment(autoescape=True, trim_blocks=True)
    template = env.from_string(_TEMPLATE)
    return template.render(
        r=report, s=report["summary"], c=report.get("comparison"),
        dumps=lambda value: json.dumps(value, indent=2, ensure_ascii=False),
    )
