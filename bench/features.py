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
cost is the difference from "all on". The references are measured in the same run, before the gateways: the
direct call to the fake provider, the bare pass-through (``passthrough.py``, pinned like the gateway) and LiteLLM's
own proxy (``litellm_proxy.py``: a venv of its own, made on first use; pinned like the gateway; ``--no-litellm``
leaves it out). Every row has req/s, p50/p99 and their overhead against the direct call, CPU per request and its
ratio to the pass-through's; a second table has each process's idle RSS and time to ready (spawn to the first 200
on its health URL); the last checks issue 15's goals (``overhead.GOAL_*``) on the measured values only.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import litellm_proxy  # the sibling scripts, found through the path set just above
import overhead  # idem
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
    """One row of every table: a gateway scenario or a reference (direct, pass-through, LiteLLM proxy)."""

    scenario: str
    cells: dict[tuple[str, int], overhead.Cell] = field(default_factory=dict)
    rss_mb: float = 0.0  # idle: one second after ready, before any request
    rss_after_mb: float = 0.0  # after all its load
    ready_s: float | None = None  # spawn to the first 200 on its health URL
    hit_ms: list[float] = field(default_factory=list)  # the gateway's own x-gateway-overhead-ms on exact hits


def config(workdir: Path, fake_url: str, scenario: Scenario, database: str, sink: str) -> Path:
    params = {"model": "openai/bench-model", "api_base": f"{fake_url}/v1", "api_key": "bench",
              "input_cost_per_token": 1e-7, "output_cost_per_token": 2e-7}
    gateway: dict[str, Any] = {"telemetry": {"metrics": "metrics" not in scenario.off}}
    if "traces" not in scenario.off:
        gateway["telemetry"]["otlp_endpoint"] = sink
    if "cache" not in scenario.off:
        gateway["cache"] = {"mode": "semantic"}
    policies: list[dict[str, Any]] = [POLICY] if "guardrails" not in scenario.off else []
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
    limits = {"name": f"bench-{secrets.token_hex(3)}", "rpm": 100_000_000, "tpm": 2_000_000_000, "budget_usd": 1e9}
    created = admin.post("/admin/keys", json=limits)
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


def loads(args: argparse.Namespace) -> list[tuple[str, int]]:
    return [(mode, concurrency) for mode in ("plain", "stream") for concurrency in args.concurrency]


def load_of(args: argparse.Namespace, mode: str, concurrency: int, also: set[int]) -> dict[str, Any]:
    return {"mode": mode, "concurrency": concurrency, "seconds": args.duration, "warmup": args.warmup,
            "core": 1 if args.pin else None, "max_wait": args.max_wait, "also": also}


def core(args: argparse.Namespace) -> int | None:
    """The server's core: 0, where the gateway runs (wrk, the fake and the driver run on 1)."""
    return 0 if args.pin else None


def run_scenario(args: argparse.Namespace, workdir: Path, scenario: Scenario, servers: dict[str, Any]) -> Result:
    result = Result(scenario.name)
    path = config(workdir, servers["fake_url"], scenario, servers["database"], servers["sink"])
    process, url, result.ready_s = overhead.start_gateway(path, core(args), workdir / "gateway.log")
    try:
        time.sleep(1.0)
        result.rss_mb = overhead.memory_mb(process.pid)["VmRSS"]
        key = prepare(url, scenario)
        for mode, concurrency in loads(args):
            overhead.SCRIPTS[f"features-{mode}"] = lua(workdir, scenario, key, mode)
            load = load_of(args, f"features-{mode}", concurrency, set())
            cell = overhead.measure(("gateway", url, process.pid), servers["fake_pid"], process.pid, load)
            result.cells[(mode, concurrency)] = cell
            progress(scenario.name, mode, concurrency, cell)
        if scenario.hit:
            result.hit_ms = hit_times(url, key, "prompt" not in scenario.off)
        result.rss_after_mb = overhead.memory_mb(process.pid)["VmRSS"]
    finally:
        overhead.stop(process)
    return result


def progress(name: str, mode: str, concurrency: int, cell: overhead.Cell) -> None:
    print(f"  {name} {mode} c={concurrency}: {cell.rps:,.0f} req/s, {cell.errors} errors", file=sys.stderr,
          flush=True)


def hit_times(url: str, key: str, prompt: bool, count: int = 200) -> list[float]:
    """The gateway's own time (``x-gateway-overhead-ms``: the whole request on a hit, which calls no upstream)
    for ``count`` sequential repeats of the hit path's request, one connection; only the exact hits count."""
    body: dict[str, Any] = {"model": "bench-model", **({"prompt_id": PROMPT} if prompt else {}),
            "messages": [{"role": "user", "content": "Say hello to the benchmark."}], "max_tokens": 16,
            "temperature": 0}
    payload, host, port = json.dumps(body).encode(), *url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    times = []
    try:
        for _ in range(count):
            connection.request("POST", "/v1/chat/completions", payload,
                               {"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            spent = response.getheader("x-gateway-overhead-ms")
            if "hit" in (response.getheader("x-gateway-cache") or "") and "semantic" not in (
                    response.getheader("x-gateway-cache") or "") and spent is not None:
                times.append(float(spent))
    finally:
        connection.close()
    return times


def references(args: argparse.Namespace, workdir: Path, servers: dict[str, Any]) -> list[Result]:
    """The direct call, the bare pass-through and (unless --no-litellm, or it cannot run) LiteLLM's proxy, each
    measured at every load; the pass-through and the proxy run on the gateway's core, and are stopped after."""
    direct = Result("direct (fake provider)", rss_mb=overhead.memory_mb(servers["fake_pid"])["VmRSS"])
    results = [direct]
    with contextlib.ExitStack() as stack:
        bare, bare_url, ready = overhead.start_passthrough(servers["fake_url"], core(args),
                                                           workdir / "passthrough.log")
        stack.callback(overhead.stop, bare)
        targets = [(direct, ("direct", servers["fake_url"], servers["fake_pid"])),
                   (Result("pass-through", ready_s=ready), ("passthrough", bare_url, bare.pid))]
        script = {"litellm": "litellm-"}  # its own wrk scripts: the same requests, with its master key
        proxy = start_litellm(args, workdir, servers, stack)
        if proxy is not None:
            targets.append(proxy)
        time.sleep(1.0)
        for result, (_path, _url, pid) in targets[1:]:
            result.rss_mb = result.rss_mb or overhead.memory_mb(pid)["VmRSS"]
        pids = {pid for _result, (_path, _url, pid) in targets}
        for mode, concurrency in loads(args):
            for result, target in targets:
                load = load_of(args, script.get(target[0], "") + mode, concurrency, pids)
                try:
                    cell = overhead.measure(target, servers["fake_pid"], target[2], load)
                except RuntimeError as exc:
                    if target[0] != "litellm":
                        raise
                    failed(servers, result, mode, concurrency, exc)  # a peer failing is a figure, not an abort
                    continue
                result.cells[(mode, concurrency)] = cell
                progress(result.scenario, mode, concurrency, cell)
        for result, (_path, _url, pid) in targets[1:]:
            result.rss_after_mb = overhead.memory_mb(pid)["VmRSS"]
        results += [result for result, _target in targets[1:]]
    return results


def failed(servers: dict[str, Any], result: Result, mode: str, concurrency: int, exc: RuntimeError) -> None:
    what = f"{result.scenario} failed at {overhead.label(mode)}, c={concurrency}: {str(exc).splitlines()[0]}"
    print(what, file=sys.stderr, flush=True)
    servers["litellm_note"] += f" {what}."


def start_litellm(args: argparse.Namespace, workdir: Path, servers: dict[str, Any],
                  stack: contextlib.ExitStack) -> tuple[Result, tuple[str, str, int]] | None:
    """LiteLLM's proxy, started; None (with a line saying why) when it is off, cannot be installed or started."""
    if not args.litellm:
        return None
    binary, version = litellm_proxy.ensure()
    if binary is None:
        print(f"LiteLLM proxy left out: {version}", file=sys.stderr, flush=True)
        servers["litellm_note"] = f"LiteLLM proxy left out: {version}"
        return None
    path, key = litellm_proxy.write_config(workdir, servers["fake_url"])
    litellm_proxy.lua(workdir, key)
    try:
        process, url, ready = litellm_proxy.start(binary, path, core(args), workdir / "litellm.log")
        stack.callback(overhead.stop, process)
        time.sleep(1.0)
        rss = overhead.memory_mb(process.pid)["VmRSS"]  # idle: before the requests that prime it
        litellm_proxy.prime(url, key)
    except RuntimeError as exc:
        why = str(exc).splitlines()[0] + " (the last lines of its log: " + " | ".join(
            str(exc).splitlines()[-3:]) + ")"
        print(f"LiteLLM proxy left out: {why}", file=sys.stderr, flush=True)
        servers["litellm_note"] = f"LiteLLM proxy left out: {why}"
        return None
    servers["litellm_note"] = (f"LiteLLM proxy: litellm {version} in its own venv (`.bench/litellm-proxy`), "
                               "`litellm --config` with one model mapped to the fake provider, one worker, a "
                               "master key (it will not start without one), no database, no callbacks, no "
                               "cache, the local price map, log level ERROR.")
    return Result(f"LiteLLM proxy {version}", ready_s=ready, rss_mb=rss), ("litellm", url, process.pid)


def report(results: list[Result], refs: list[Result], args: argparse.Namespace, note: str) -> str:
    about = overhead.machine(core(args), 1 if args.pin else None)
    lines = [f"Machine: {about['cpu']}, {about['cores']} cores, Python {about['python']}, {about['wrk']}, commit "
             f"{about['commit']}; {about['pinning']}; the pass-through and the LiteLLM proxy on the gateway's core. "
             f"{args.duration} s per cell after {args.warmup} s of warm-up, fake provider at 0 ms. {note}", ""]
    base = next(r for r in results if r.scenario == "all on, cache miss")
    direct, bare = refs[0], refs[1]
    for mode, concurrency in loads(args):
        lines += [f"**{overhead.label(mode)}, c={concurrency}**", "",
                  f"| row | {overhead.ROW_HEAD[0]} vs all on (CPU ms/req) | errors |",
                  f"| --- | {overhead.ROW_HEAD[1]} ---: | ---: |"]
        d, b = direct.cells[(mode, concurrency)], bare.cells[(mode, concurrency)]
        saved = base.cells[(mode, concurrency)].server_cpu_ms
        for result in [*refs, *results]:
            cell = result.cells.get((mode, concurrency))
            if cell is None:  # LiteLLM's proxy failed this load (the note above the tables says how)
                lines.append(f"| {result.scenario} | failed (see the note) |")
                continue
            delta = "" if any(result is r for r in refs) else f"{saved - cell.server_cpu_ms:+.3f}"
            lines.append(f"| {result.scenario} | {overhead.row_figures(cell, d, b)} {delta} | {cell.errors} |")
        lines.append("")
    lines += ["Overhead is against the direct call; SSE latency is to the last byte. \"vs all on\" is what turning "
              "that feature off saves (positive: the feature costs that much CPU per request).", ""]
    lines += processes_table(refs, results)
    lines += ["", *overhead.goals_table(goals(results, refs, args)), ""]
    lines += overhead.warnings([c for r in [*refs, *results] for c in r.cells.values()])
    return "\n".join(lines)


def processes_table(refs: list[Result], results: list[Result]) -> list[str]:
    lines = ["| process | idle RSS MB | RSS after its load MB | ready s (spawn to first 200) |",
             "| --- | ---: | ---: | ---: |"]
    for result in [*refs, *results]:
        ready = "" if result.ready_s is None else f"{result.ready_s:.2f}"
        after = f"{result.rss_after_mb:.1f}" if result.rss_after_mb else ""
        lines.append(f"| {result.scenario} | {result.rss_mb:.1f} | {after} | {ready} |")
    return lines


def goals(results: list[Result], refs: list[Result], args: argparse.Namespace) -> list[overhead.Goal]:
    """Issue 15's goals on the "all on, cache miss" gateway, from this run's figures only."""
    named = {r.scenario: r for r in results}
    by_path = {"direct": refs[0], "passthrough": refs[1], "gateway": named["all on, cache miss"]}

    def find(path: str, mode: str, concurrency: int) -> overhead.Cell | None:
        return by_path[path].cells.get((mode, concurrency)) if path in by_path else None

    rows = overhead.speed_goals(find, args.concurrency)
    rows.insert(1, litellm_goal(find("gateway", "plain", overhead.GOAL_TOP_C), refs))
    rows.append(hit_goal(named.get("all on, cache hit")))
    rows += memory_and_start(named)
    return rows


def litellm_goal(gateway: overhead.Cell | None, refs: list[Result]) -> overhead.Goal:
    name = f"≥ {overhead.GOAL_LITELLM_X:g}x the LiteLLM proxy's req/s, JSON, c={overhead.GOAL_TOP_C}"
    proxy = next((r for r in refs if r.scenario.startswith("LiteLLM")), None)
    cell = None if proxy is None else proxy.cells.get(("plain", overhead.GOAL_TOP_C))
    if gateway is None or cell is None or cell.rps <= 0:
        return name, "no LiteLLM proxy row" if proxy is None else f"c={overhead.GOAL_TOP_C} not in this run", None
    ratio = gateway.rps / cell.rps
    return name, f"x{ratio:.1f} ({gateway.rps:,.0f} against {cell.rps:,.0f} req/s)", ratio >= overhead.GOAL_LITELLM_X


def hit_goal(hit: Result | None) -> overhead.Goal:
    name = f"exact cache hit: gateway time ≤ {overhead.GOAL_HIT_MS:g} ms p50"
    if hit is None or not hit.hit_ms:
        return name, "no exact hits measured (run the \"all on, cache hit\" scenario)", None
    p50 = statistics.median(hit.hit_ms)
    wrk_p50 = hit.cells.get(("plain", overhead.GOAL_LOW_C))
    whole = f"; whole round trip at c={overhead.GOAL_LOW_C} p50 {wrk_p50.p50_ms:.2f} ms (wrk)" if wrk_p50 else ""
    return (name, f"{p50:.2f} ms (x-gateway-overhead-ms, {len(hit.hit_ms)} sequential hits{whole})",
            p50 <= overhead.GOAL_HIT_MS)


def memory_and_start(named: dict[str, Result]) -> list[overhead.Goal]:
    """Idle RSS before any local model is loaded: the all-on config without the semantic cache (the only local
    model of "all on": its embedder loads in the background at start), beside all on's; ready: every start."""
    all_on, no_model = named["all on, cache miss"], named.get("without cache")
    judged = no_model if no_model is not None else all_on
    note = (f" (without cache, no local model); all on, embedder loading: {all_on.rss_mb:.0f} MB"
            if no_model is not None else " (all on; the embedder loads in the background, so this includes part "
            "or all of it: run \"without cache\" for the figure without it)")
    readies = [r.ready_s for r in named.values() if r.ready_s is not None]
    rows = overhead.start_goals(judged.rss_mb, readies, note)
    rows[1] = (rows[1][0] + f", {len(readies)} gateway starts", *rows[1][1:])
    return rows


def estimate(args: argparse.Namespace, scenarios: int) -> float:
    """Seconds the run should take on a quiet machine: each cell ~2 s more than its warm-up and run (the quiet
    check, wrk's starts); each gateway start, set-up, idle second and stop ~8 s; the LiteLLM proxy's start ~25 s
    (its install, once, not counted); a busy machine adds up to --max-wait per cell."""
    litellm = 1 if args.litellm else 0
    cells = (scenarios + 2 + litellm) * len(loads(args))
    return float(cells * (args.duration + args.warmup + 2.0) + scenarios * 8 + 10 + 25 * litellm)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured cell (default 8)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 s cells, 1 s warm-ups")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--scenarios", type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
                        help="comma-separated parts of scenario names to run, e.g. 'miss,hit,without cache' "
                        "(default: all; \"all on, cache miss\" always runs: it is the base of the others)")
    parser.add_argument("--max-wait", type=float, default=5.0)
    parser.add_argument("--no-pin", dest="pin", action="store_false")
    parser.add_argument("--no-litellm", dest="litellm", action="store_false",
                        help="leave LiteLLM's proxy out (it needs its own venv: PyPI the first time)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup = 3, 1
    return args


def chosen(args: argparse.Namespace) -> list[Scenario]:
    scenarios = [s for s in SCENARIOS if not args.scenarios or any(p in s.name for p in args.scenarios)]
    if SCENARIOS[0] not in scenarios:
        scenarios.insert(0, SCENARIOS[0])
    return scenarios


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    scenarios = chosen(args)
    print(f"features: {len(scenarios)} gateway scenarios + references, {len(loads(args))} loads each: about "
          f"{estimate(args, len(scenarios)) / 60:.1f} minutes", file=sys.stderr, flush=True)
    if args.pin:
        os.sched_setaffinity(0, {1})  # the driver (and the OTLP receiver's thread) stay off the gateway's core
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gw-features-")))
        fake, fake_url = stack.enter_context(overhead.fake_provider(1 if args.pin else None, workdir / "fake.log"))
        sink, _received = stack.enter_context(otlp_sink())
        database = stack.enter_context(pg_database())
        servers: dict[str, Any] = {"fake_url": fake_url, "fake_pid": fake.pid, "sink": sink, "database": database,
                   "litellm_note": "LiteLLM proxy left out (--no-litellm)."}
        try:
            refs = references(args, workdir, servers)
            results = [run_scenario(args, workdir, s, servers) for s in scenarios]
        except RuntimeError as exc:
            print(f"features: {exc}", file=sys.stderr)
            return 2
    print(report(results, refs, args, servers["litellm_note"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
