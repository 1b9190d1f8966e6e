"""The gateway with every feature on, and what each feature costs: the difference from turning it off, in one run.

Run ``.venv/bin/python bench/features.py`` (``--help``; ``--quick`` for 3 s cells). A script, not a test: it
prints Markdown and never asserts on time. It needs wrk, the machine's PostgreSQL (``.ci/services.sh``) and the
local MiniLM (``make venv``).

Contract: the processes and measures of ``overhead.py`` (fake provider at 0 ms, ``gateway serve`` pinned to core
0, wrk and the driver on core 1, CPU per request from /proc). "All on" is: a virtual key with RPM, TPM and a budget
(none of them reached), the request log on a throwaway PostgreSQL database, a prompt reference in every request,
a guardrail policy on input (PII masking, secrets) and output (secrets), the semantic cache (which looks up the
exact hash first), traces exported over OTLP/HTTP to a receiver in the driver at the default sampling, and
Prometheus metrics. Every request of the miss path is new (a counter in its text), so the cache never answers
it; the hit path sends one request again and again. Each "without X" scenario is "all on" with X off, so X's
cost is the difference from "all on". The direct call to the fake provider is measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead  # the sibling script, found through the path set just above
from scale import pg_database  # idem
from telemetry_overhead import otlp_sink  # idem

MASTER = "sk-bench-master-key"
PROMPT = "bench-prompt"
POLICY = {
    "name": "bench-policy",
    "input": [{"type": "pii", "action": "mask", "entities": ["email", "phone", "credit_card"]},
              {"type": "secrets", "action": "block"}],
    "output": [{"type": "secrets", "action": "block"}],
}
INJECTION = {"name": "bench-injection", "input": [{"type": "prompt_injection", "action": "block"}]}
#: wrk scripts: {key} is the virtual key, {prompt} the prompt fields, {unique} true for the miss path.
LUA = """
dofile("{chat_lua}")  -- the bench's own script: its done() prints the BENCH line the driver reads
local counter = 0
local stream = {stream}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
request = function()
  counter = counter + 1
  local text = "Say hello to the benchmark."
  if {unique} then text = "Say hello to benchmark run " .. counter .. " of thread " .. tostring(wrk.thread) .. "." end
  local head = stream and '"stream":true,"stream_options":{{"include_usage":true}},' or ''
  local body = '{{"model":"bench-model",' .. head .. '{prompt}"messages":[{{"role":"user","content":"' .. text
    .. '"}}],"max_tokens":16,"temperature":0}}'
  return wrk.format(nil, nil, nil, body)
end
"""


@dataclass
class Scenario:
    name: str
    off: frozenset[str] = frozenset()  # features turned off: key, postgres, prompt, guardrails, cache, traces, metrics
    hit: bool = False  # the cache hit path (one request, again and again)
    extra: tuple[str, ...] = ()  # features added: "injection"


SCENARIOS = [
    Scenario("all on, cache miss"),
    Scenario("all on, cache hit", hit=True),
    *(Scenario(f"without {feature}", off=frozenset({feature}))
      for feature in ("key", "postgres", "prompt", "guardrails", "cache", "traces", "metrics")),
    Scenario("all on + injection classifier", extra=("injection",)),
    Scenario("all off", off=frozenset({"key", "postgres", "prompt", "guardrails", "cache", "traces", "metrics"})),
]


@dataclass
class Result:
    scenario: str
    cells: dict[tuple[str, int], overhead.Cell] = field(default_factory=dict)
    rss_mb: float = 0.0


def config(workdir: Path, fake_url: str, scenario: Scenario, database: str, sink: str) -> Path:
    params = {"model": "openai/bench-model", "api_base": f"{fake_url}/v1", "api_key": "bench",
              "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}
    gateway: dict[str, Any] = {"telemetry": {"metrics": "metrics" not in scenario.off}}
    if "traces" not in scenario.off:
        gateway["telemetry"]["otlp_endpoint"] = sink
    if "cache" not in scenario.off:
        gateway["cache"] = {"mode": "semantic"}
    policies = [POLICY] if "guardrails" not in scenario.off else []
    if "injection" in scenario.extra:
        policies.append(INJECTION)
    if policies:
        gateway["guardrails"] = {"policies": policies, "default": [p["name"] for p in policies]}
    database_url = database if "postgres" not in scenario.off else f"sqlite:///{workdir / 'bench.db'}"
    document = {
        "model_list": [{"model_name": "bench-model", "litellm_params": params}],
        "general_settings": {"master_key": MASTER, "database_url": database_url},
        "gateway": gateway,
    }
    path = workdir / f"features-{abs(hash(scenario.name)) % 100_000}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def prepare(url: str, scenario: Scenario) -> str:
    """The key the load uses (a virtual key with limits, or the master key) and the prompt, released."""
    admin = httpx.Client(base_url=url, headers={"authorization": f"Bearer {MASTER}"}, timeout=30)
    if "prompt" not in scenario.off:
        spec = {"name": PROMPT, "model": "bench-model", "messages": [{"role": "system", "content": "Be terse."}]}
        admin.post("/admin/prompts", json={"prompts": [spec]}).raise_for_status()
        admin.post(f"/admin/prompts/{PROMPT}/release", json={"version": 1, "force": True})
    if "key" in scenario.off:
        return MASTER
    spec = {"name": f"bench-{secrets.token_hex(3)}", "rpm": 100_000_000, "tpm": 2_000_000_000, "budget_usd": 1e9}
    created = admin.post("/admin/keys", json=spec)
    created.raise_for_status()
    return str(created.json()["key"])


def lua(workdir: Path, scenario: Scenario, key: str, mode: str) -> Path:
    prompt = "" if "prompt" in scenario.off else f'"prompt_id":"{PROMPT}",'
    text = LUA.format(chat_lua=overhead.SCRIPTS["plain"], stream="true" if mode == "stream" else "false", key=key,
                      prompt=prompt,
                      unique="false" if scenario.hit else "true")
    path = workdir / f"load-{mode}-{abs(hash((scenario.name, key))) % 100_000}.lua"
    path.write_text(text)
    return path


def run_scenario(args: argparse.Namespace, workdir: Path, scenario: Scenario, servers: dict[str, Any]) -> Result:
    result = Result(scenario.name)
    path = config(workdir, servers["fake_url"], scenario, servers["database"], servers["sink"])
    process, url, _ready = overhead.start_gateway(path, 0 if args.pin else None, workdir / "gateway.log")
    try:
        key = prepare(url, scenario)
        time.sleep(1.0)
        result.rss_mb = overhead.memory_mb(process.pid)["VmRSS"]
        for mode in ("plain", "stream"):
            overhead.SCRIPTS[f"features-{mode}"] = lua(workdir, scenario, key, mode)
            for concurrency in args.concurrency:
                load = {"mode": f"features-{mode}", "concurrency": concurrency, "seconds": args.duration,
                        "warmup": args.warmup, "core": 1 if args.pin else None, "max_wait": args.max_wait}
                cell = overhead.measure(("gateway", url, process.pid), servers["fake_pid"], process.pid, load)
                result.cells[(mode, concurrency)] = cell
                print(f"  {scenario.name} {mode} c={concurrency}: {cell.rps:,.0f} req/s, {cell.errors} errors",
                      file=sys.stderr, flush=True)
    finally:
        overhead.stop(process)
    return result


def report(results: list[Result], direct: dict[tuple[str, int], overhead.Cell], args: argparse.Namespace) -> str:
    about = overhead.machine(0 if args.pin else None, 1 if args.pin else None)
    lines = [f"Machine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, commit {about['commit']}; "
             f"{about['pinning']}. {args.duration} s per cell after {args.warmup} s of warm-up.", ""]
    base = next(r for r in results if r.scenario == "all on, cache miss")
    for mode in ("plain", "stream"):
        for concurrency in args.concurrency:
            d = direct[(mode, concurrency)]
            lines += [f"**{'JSON' if mode == 'plain' else 'SSE'}, c={concurrency}** (direct: {d.rps:,.0f} req/s, "
                      f"p50 {d.p50_ms:.2f} ms, p99 {d.p99_ms:.2f} ms, fake CPU {d.server_cpu_ms:.3f} ms/req)", "",
                      "| scenario | req/s | p50 overhead ms | p99 overhead ms | gateway CPU ms/req "
                      "| vs all on (CPU ms/req) | errors |",
                      "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
            for result in results:
                cell = result.cells[(mode, concurrency)]
                delta = base.cells[(mode, concurrency)].server_cpu_ms - cell.server_cpu_ms
                lines.append(f"| {result.scenario} | {cell.rps:,.0f} | {cell.p50_ms - d.p50_ms:+.2f} "
                             f"| {cell.p99_ms - d.p99_ms:+.2f} | {cell.server_cpu_ms:.3f} | {delta:+.3f} "
                             f"| {cell.errors} |")
            lines.append("")
    lines += ["| scenario | RSS after start-up and prompt/key set-up |", "| --- | ---: |"]
    lines += [f"| {r.scenario} | {r.rss_mb:.1f} MB |" for r in results]
    lines += ["", "\"vs all on\" is what turning that feature off saves (positive: the feature costs that much "
              "CPU per request)."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 s cells, 1 s warm-ups")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--only", nargs="*", help="scenario names to run (default: all)")
    parser.add_argument("--max-wait", type=float, default=5.0)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3, 1
    scenarios = [s for s in SCENARIOS if not args.only or s.name in args.only]
    if "all on, cache miss" not in [s.name for s in scenarios]:
        scenarios.insert(0, SCENARIOS[0])
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gw-features-")))
        fake, fake_url = stack.enter_context(overhead.fake_provider(1 if args.pin else None, workdir / "fake.log"))
        sink, _received = stack.enter_context(otlp_sink())
        database = stack.enter_context(pg_database())
        servers = {"fake_url": fake_url, "fake_pid": fake.pid, "sink": sink, "database": database}
        direct: dict[tuple[str, int], overhead.Cell] = {}
        for mode in ("plain", "stream"):
            for concurrency in args.concurrency:
                load = {"mode": mode, "concurrency": concurrency, "seconds": args.duration, "warmup": args.warmup,
                        "core": 1 if args.pin else None, "max_wait": args.max_wait}
                direct[(mode, concurrency)] = overhead.measure(("direct", fake_url, fake.pid), fake.pid, fake.pid,
                                                               load)
        try:
            results = [run_scenario(args, workdir, s, servers) for s in scenarios]
        except RuntimeError as exc:
            print(f"features: {exc}", file=sys.stderr)
            return 2
    print(report(results, direct, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
