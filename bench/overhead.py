"""How much the gateway costs on top of a direct call: throughput, latency, CPU, memory and start-up time.

Run ``.venv/bin/python bench/overhead.py`` (``--quick`` for 3 s cells; ``--help``). A script, not a test: it
prints Markdown for docs/benchmarks.md (progress on stderr) and never asserts on time. ``bench/README.md`` has
the method.

Contract: one run starts the fake provider (0 ms), the bare pass-through (``passthrough.py``) and ``gateway
serve`` (one worker, SQLite in a temp dir, no master key) as real processes, pins the gateway and the pass-through
to core 0 and wrk + the fake + this driver to core 1, and drives the same wrk Lua scripts (``bench/lua/``) DIRECT
to the fake, through the PASS-THROUGH and THROUGH the gateway, plain and streamed, at each concurrency, the three
cells one after the other. CPU per request is a server's user+sys time (all threads: the background log writer
counts) over the requests wrk completed. The goals checked are issue 15's (``GOAL_*``; ``features.py`` checks
them all). Exit status: 0 after printing; 2 when wrk is missing, a server does not start, or a warm-up completes
no 2xx request.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GATEWAY_BIN = ROOT / ".venv" / "bin" / "gateway"
SCRIPTS = {"plain": HERE / "lua" / "chat.lua", "stream": HERE / "lua" / "chat_stream.lua"}
CLK_TCK = os.sysconf("SC_CLK_TCK")
MODEL = "bench-model"
PASSTHROUGH = HERE / "passthrough.py"
# Issue 15's goals: one worker on one core, JSON req/s at the top concurrency; CPU per request against the bare
# pass-through's; p50/p99 overhead against the direct call at concurrency 1; gateway time of an exact cache hit.
GOAL_RPS, GOAL_LITELLM_X, GOAL_CPU_X = 4000.0, 25.0, 2.5
GOAL_P50_MS, GOAL_P99_MS, GOAL_HIT_MS, GOAL_RSS_MB, GOAL_READY_S = 0.4, 1.0, 0.3, 80.0, 1.0
GOAL_TOP_C, GOAL_LOW_C = 50, 1  # the concurrencies the goals on req/s and on latency are stated at
#: A goal: what it says, what was measured, and whether it was met (None: not measured in this run).
Goal = tuple[str, str, bool | None]


@dataclass
class Cell:
    """One wrk run against one server, and what it cost."""

    mode: str
    concurrency: int
    path: str
    requests: int
    seconds: float
    errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    server_cpu_ms: float  # per request: the fake's on a direct cell, the gateway's through it
    fake_cpu_ms: float  # per request, the fake provider's in both cases
    wrk_cpu_ms: float
    gateway_core_busy: float  # share of one core, 0..1
    load_core_busy: float  # wrk + fake
    other_cores: float  # CPU used meanwhile by processes that are not part of this run, in cores
    waited_s: float  # how long the cell waited for the machine to be quiet before it started


@dataclass
class Run:
    machine: dict[str, str]
    settings: dict[str, Any]
    ready_s: list[float] = field(default_factory=list)
    rss_idle_mb: float = 0.0
    rss_after_mb: float = 0.0
    rss_peak_mb: float = 0.0
    passthrough_ready_s: float = 0.0
    passthrough_rss_mb: float = 0.0
    log_rows: int | None = None
    cells: list[Cell] = field(default_factory=list)



def cpu_seconds(pid: int) -> float:
    """User + system time of every thread of ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def memory_mb(pid: int) -> dict[str, float]:
    found = re.findall(r"^(VmRSS|VmHWM):\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return {name: int(kb) / 1024 for name, kb in found}


def busy_seconds() -> float:
    """Busy CPU time of the whole machine, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / CLK_TCK


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def machine(gateway_core: int | None, load_core: int | None) -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.M)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False).stdout
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip()
    return {
        "cpu": model.group(1).strip() if model else platform.processor() or "unknown",
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "wrk": wrk.split(" [")[0].strip() or "unknown",
        "commit": commit or "unknown",
        "pinning": "no core pinning" if gateway_core is None
        else f"gateway on core {gateway_core}; wrk, fake provider and driver on core {load_core}",
    }



def pinned(core: int | None, command: list[str]) -> list[str]:
    return command if core is None else ["taskset", "-c", str(core), *command]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def fake_provider(core: int | None, log: Path, latency_ms: int = 0) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """Its output goes to a file: a pipe nobody reads fills up with the tracebacks it logs for every stream a
    client cuts (wrk does at the end of each run), and the fake then blocks on write."""
    command = pinned(core, [str(GATEWAY_BIN), "fake-provider", "--port", "0", "--latency-ms", str(latency_ms)])
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while (match := re.search(r"listening on (http://\S+)", log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the fake provider did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.01)
        yield process, match.group(1)
    finally:
        stop(process)


def write_config(workdir: Path, fake_url: str) -> Path:
    params = {"model": f"openai/{MODEL}", "api_base": f"{fake_url}/v1", "api_key": "bench"}
    config = {"model_list": [{"model_name": MODEL, "litellm_params": params}],
              "general_settings": {"database_url": f"sqlite:///{workdir / 'bench.db'}"}}
    path = workdir / "bench.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def start_gateway(config: Path, core: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn ``gateway serve``; returns it, its URL and the seconds until ``/health`` first answered 200."""
    port = free_port()
    command = [str(GATEWAY_BIN), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"]
    return start_server("the gateway", pinned(core, command), port, log, {"cwd": config.parent})


def start_passthrough(upstream: str, core: int | None, log: Path) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn the bare pass-through (``passthrough.py``) in front of ``upstream``, like ``start_gateway``."""
    port = free_port()
    command = [sys.executable, str(PASSTHROUGH), "--port", str(port), "--upstream", upstream]
    return start_server("the pass-through", pinned(core, command), port, log, {})


def start_server(name: str, command: list[str], port: int, log: Path,
                 options: dict[str, Any]) -> tuple[subprocess.Popen[bytes], str, float]:
    """Spawn ``command`` (``options``: Popen's ``cwd``/``env``, ``health``: the path polled, ``/health`` unless
    said, ``wait``: seconds, 60 unless said); returns it, its URL and the seconds from spawn to the first 200."""
    health, wait = options.get("health", "/health"), options.get("wait", 60.0)
    popen = {k: v for k, v in options.items() if k in ("cwd", "env")}
    with log.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, **popen)
    while time.perf_counter() < started + wait:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if health_ok(port, health):
            return process, f"http://127.0.0.1:{port}", time.perf_counter() - started
        time.sleep(0.002)
    stop(process)
    raise RuntimeError(f"{name} was not ready after {wait:g} s:\n{log.read_text(errors='replace')}")


def health_ok(port: int, path: str = "/health") -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def count_log_rows(database: Path) -> int | None:
    """Rows the background writer stored; None when this build has no request log table yet."""
    try:
        with contextlib.closing(sqlite3.connect(database)) as db:
            return int(db.execute("SELECT count(*) FROM request_logs").fetchone()[0])
    except sqlite3.Error:
        return None



def wrk(url: str, mode: str, concurrency: int, seconds: int, core: int | None) -> dict[str, Any]:
    command = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--timeout", "10s", "-s", str(SCRIPTS[mode]),
               f"{url}/v1/chat/completions"]
    result = subprocess.run(pinned(core, command), capture_output=True, text=True, check=False)
    for line in result.stdout.splitlines():
        if line.startswith("BENCH "):
            figures: dict[str, Any] = json.loads(line[6:])
            return figures
    raise RuntimeError(f"wrk printed no BENCH line (exit {result.returncode}):\n{result.stdout}{result.stderr}")


def wait_quiet(pids: set[int], limit: float, threshold: float = 0.15) -> float:
    """Wait (at most ``limit`` s) until other processes use under ``threshold`` cores; returns the wait."""
    started = time.monotonic()
    while time.monotonic() - started < limit:
        machine_before, ours_before = busy_seconds(), sum(cpu_seconds(pid) for pid in pids)
        time.sleep(0.5)
        ours = sum(cpu_seconds(pid) for pid in pids) - ours_before
        if (busy_seconds() - machine_before - ours) / 0.5 < threshold:
            break
    return time.monotonic() - started


def measure(target: tuple[str, str, int], fake_pid: int, gateway_pid: int, load: dict[str, Any]) -> Cell:
    """One warmed-up wrk run against ``target`` (path, url, server pid), with the CPU each side spent on it.
    ``load["also"]``: more pids of this run (idle servers), whose CPU is not counted as other processes'."""
    path, url, server_pid = target
    mode, concurrency, seconds, core = load["mode"], load["concurrency"], load["seconds"], load["core"]
    pids = {server_pid, fake_pid, gateway_pid, *load.get("also", ())}
    waited = wait_quiet(pids, load["max_wait"])
    warm = wrk(url, mode, concurrency, load["warmup"], core)
    if warm["requests"] == 0 or warm["status_errors"] == warm["requests"]:
        raise RuntimeError(f"{path} at {url} completed no request, or answered none with 2xx, during the warm-up")
    before = {pid: cpu_seconds(pid) for pid in pids}
    machine_before, wrk_before, wall = busy_seconds(), children_cpu(), time.perf_counter()
    figures = wrk(url, mode, concurrency, seconds, core)
    wall = time.perf_counter() - wall
    spent = {pid: cpu_seconds(pid) - before[pid] for pid in pids}
    wrk_spent = children_cpu() - wrk_before
    ours = sum(spent.values()) + wrk_spent
    requests = max(1, int(figures["requests"]))
    errors = sum(int(figures[k]) for k in ("connect_errors", "read_errors", "write_errors", "status_errors",
                                           "timeouts"))
    gateway_spent = spent[server_pid] if server_pid != fake_pid else 0.0  # the gateway core's server
    return Cell(
        mode=mode, concurrency=concurrency, path=path, requests=int(figures["requests"]),
        seconds=figures["duration_us"] / 1e6, errors=errors,
        rps=figures["requests"] / (figures["duration_us"] / 1e6),
        p50_ms=figures["p50_us"] / 1000, p90_ms=figures["p90_us"] / 1000, p99_ms=figures["p99_us"] / 1000,
        mean_ms=figures["mean_us"] / 1000,
        server_cpu_ms=spent[server_pid] * 1000 / requests, fake_cpu_ms=spent[fake_pid] * 1000 / requests,
        wrk_cpu_ms=wrk_spent * 1000 / requests,
        gateway_core_busy=gateway_spent / wall, load_core_busy=(spent[fake_pid] + wrk_spent) / wall,
        other_cores=max(0.0, busy_seconds() - machine_before - ours) / wall, waited_s=waited,
    )


def run(args: argparse.Namespace, gateway_core: int | None, load_core: int | None) -> Run:
    result = Run(machine(gateway_core, load_core), settings={
        "seconds": args.duration, "warmup": args.warmup, "concurrency": args.concurrency, "starts": args.starts,
        "max_wait": args.max_wait, "nice": args.nice})
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gw-bench-")))
        fake, fake_url = stack.enter_context(fake_provider(load_core, workdir / "fake.log"))
        bare, bare_url, result.passthrough_ready_s = start_passthrough(fake_url, gateway_core,
                                                                       workdir / "passthrough.log")
        stack.callback(stop, bare)
        config, log = write_config(workdir, fake_url), workdir / "gateway.log"
        for _ in range(args.starts - 1):  # the first start migrates a new database; the others restart on it
            process, _url, ready = start_gateway(config, gateway_core, log)
            result.ready_s.append(ready)
            stop(process)
        gateway, url, ready = start_gateway(config, gateway_core, log)
        result.ready_s.append(ready)
        try:
            time.sleep(1.0)
            result.rss_idle_mb = memory_mb(gateway.pid)["VmRSS"]
            result.passthrough_rss_mb = memory_mb(bare.pid)["VmRSS"]
            targets = (("direct", fake_url, fake.pid), ("passthrough", bare_url, bare.pid),
                       ("gateway", url, gateway.pid))
            for mode in ("plain", "stream"):
                for concurrency in args.concurrency:
                    load = {"mode": mode, "concurrency": concurrency, "seconds": args.duration, "also": {bare.pid},
                            "warmup": args.warmup, "core": load_core, "max_wait": args.max_wait}
                    for target in targets:
                        result.cells.append(measure(target, fake.pid, gateway.pid, load))
                        print(f"  {mode} c={concurrency} {target[0]}: {result.cells[-1].rps:,.0f} req/s",
                              file=sys.stderr, flush=True)
            memory = memory_mb(gateway.pid)
            result.rss_after_mb, result.rss_peak_mb = memory["VmRSS"], memory["VmHWM"]
        finally:
            stop(gateway)
        result.log_rows = count_log_rows(workdir / "bench.db")
    return result



def cell_of(run_: Run, path: str, mode: str, concurrency: int) -> Cell | None:
    return next((c for c in run_.cells if (c.path, c.mode, c.concurrency) == (path, mode, concurrency)), None)


def pair(run_: Run, mode: str, concurrency: int) -> tuple[Cell, Cell]:
    direct, gateway = cell_of(run_, "direct", mode, concurrency), cell_of(run_, "gateway", mode, concurrency)
    assert direct is not None and gateway is not None, "every run measures both"
    return direct, gateway


def signed(value: float, digits: int = 2) -> str:
    return f"{value:+,.{digits}f}"


def label(mode: str) -> str:
    return "SSE" if "stream" in mode else "JSON"


def row_figures(cell: Cell, direct: Cell, bare: Cell | None) -> str:
    """req/s, p50 and p99 with the overhead against the direct call, CPU per request and its ratio to the
    pass-through's: the cells shared by overhead.py's and features.py's tables."""
    if cell is direct:
        return (f"{cell.rps:,.0f} | {cell.p50_ms:.2f} | | {cell.p99_ms:.2f} | | "
                f"{cell.server_cpu_ms:.3f} (fake) | |")
    ratio = f"x{cell.server_cpu_ms / bare.server_cpu_ms:.2f}" if bare is not None and bare.server_cpu_ms else ""
    return (f"{cell.rps:,.0f} | {cell.p50_ms:.2f} | {signed(cell.p50_ms - direct.p50_ms)} | {cell.p99_ms:.2f} | "
            f"{signed(cell.p99_ms - direct.p99_ms)} | {cell.server_cpu_ms:.3f} | {ratio} |")


ROW_HEAD = ("req/s | p50 ms | p50 overhead ms | p99 ms | p99 overhead ms | CPU ms/req | CPU vs pass-through |",
            "---: | ---: | ---: | ---: | ---: | ---: | ---: |")


def figures_table(run_: Run) -> list[str]:
    lines = [f"| mode | c | path | {ROW_HEAD[0]} cores busy: server / load / others |",
             f"| --- | ---: | --- | {ROW_HEAD[1]} --- |"]
    for mode in ("plain", "stream"):
        for concurrency in run_.settings["concurrency"]:
            direct, bare = pair(run_, mode, concurrency)[0], cell_of(run_, "passthrough", mode, concurrency)
            for name in ("direct", "passthrough", "gateway"):
                cell = cell_of(run_, name, mode, concurrency)
                if cell is None:
                    continue
                flag = f" ({cell.errors} errors)" if cell.errors else ""
                busy = f"{cell.gateway_core_busy:.2f} / {cell.load_core_busy:.2f} / {cell.other_cores:.2f}"
                lines.append(f"| {label(mode)} | {concurrency} | {name}{flag} | {row_figures(cell, direct, bare)} "
                             f"{busy} |")
    return lines


def mark(ok: bool | None) -> str:
    return "not measured" if ok is None else "PASS" if ok else "**MISS**"


def goals_table(rows: list[Goal]) -> list[str]:
    lines = ["| goal (issue 15) | measured | result |", "| --- | --- | --- |"]
    return lines + [f"| {name} | {value} | {mark(ok)} |" for name, value, ok in rows]


def speed_goals(find: Callable[[str, str, int], Cell | None], concurrencies: list[int]) -> list[Goal]:
    """The goals on req/s, CPU and latency, from ``find(path, mode, concurrency)`` (paths: direct, passthrough,
    gateway: the one measured against the goals)."""
    top, low = GOAL_TOP_C, GOAL_LOW_C
    gateway = find("gateway", "plain", top)
    rows: list[Goal] = [(f"≥ {GOAL_RPS:,.0f} req/s, JSON, c={top}", f"{gateway.rps:,.0f} req/s",
                         gateway.rps >= GOAL_RPS) if gateway is not None
                        else (f"≥ {GOAL_RPS:,.0f} req/s, JSON, c={top}", f"c={top} not in this run", None)]
    rows += [cpu_goal(find, mode, concurrencies) for mode in ("plain", "stream")]
    for mode in ("plain", "stream"):
        direct, cell = find("direct", mode, low), find("gateway", mode, low)
        for name, limit in (("p50", GOAL_P50_MS), ("p99", GOAL_P99_MS)):
            goal = f"{name} overhead ≤ {limit:g} ms, {label(mode)}, c={low}"
            if direct is None or cell is None:
                rows.append((goal, f"c={low} not in this run", None))
                continue
            overhead = getattr(cell, f"{name}_ms") - getattr(direct, f"{name}_ms")
            rows.append((goal, f"{overhead:.2f} ms", overhead <= limit))
    return rows


def cpu_goal(find: Callable[[str, str, int], Cell | None], mode: str, concurrencies: list[int]) -> Goal:
    """CPU per request against the pass-through's, at the concurrency where the ratio is worst."""
    ratios = [(cell.server_cpu_ms / bare.server_cpu_ms, c) for c in concurrencies
              if (cell := find("gateway", mode, c)) is not None and (bare := find("passthrough", mode, c))
              is not None and bare.server_cpu_ms > 0]
    name = f"CPU/request ≤ {GOAL_CPU_X:g}x the pass-through's, {label(mode)}"
    if not ratios:
        return name, "no pass-through row", None
    worst, at = max(ratios)
    others = ", ".join(f"x{r:.2f} at c={c}" for r, c in ratios if c != at)
    return name, f"x{worst:.2f} at c={at} (worst)" + (f"; {others}" if others else ""), worst <= GOAL_CPU_X


def start_goals(rss_mb: float, ready_s: list[float], rss_note: str = "") -> list[Goal]:
    worst = max(ready_s)
    detail = f"{worst:.2f} s worst of {len(ready_s)}"
    if len(ready_s) > 1:
        detail += f" (first {ready_s[0]:.2f} s, median {statistics.median(ready_s):.2f} s)"
    return [(f"idle RSS ≤ {GOAL_RSS_MB:g} MB", f"{rss_mb:.0f} MB{rss_note}", rss_mb <= GOAL_RSS_MB),
            (f"ready < {GOAL_READY_S:g} s", detail, worst < GOAL_READY_S)]


def targets_table(run_: Run) -> list[str]:
    rows = speed_goals(lambda path, mode, c: cell_of(run_, path, mode, c), run_.settings["concurrency"])
    rows += start_goals(run_.rss_idle_mb, run_.ready_s,
                        f" (after load {run_.rss_after_mb:.0f} MB, peak {run_.rss_peak_mb:.0f} MB)")
    rows.append((f"≥ {GOAL_LITELLM_X:g}x LiteLLM proxy's req/s; exact hit ≤ {GOAL_HIT_MS:g} ms",
                 "not in this script: features.py", None))
    return goals_table(rows)


def report(run_: Run) -> str:
    m = run_.machine
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, Linux {m['kernel']}, {m['wrk']}, "
             f"commit {m['commit']}. {m['pinning']}; the pass-through on the gateway's core. "
             f"{run_.settings['seconds']:g} s per cell after a "
             f"{run_.settings['warmup']:g} s warm-up, wrk `-t1 -cN`, fake provider at 0 ms"
             + (f", all processes at nice {run_.settings['nice']}." if run_.settings["nice"] else "."), ""]
    lines += [*figures_table(run_), "",
              f"Pass-through: idle RSS {run_.passthrough_rss_mb:.0f} MB, ready in {run_.passthrough_ready_s:.2f} s.",
              "", *targets_table(run_), ""]
    total = sum(c.requests for c in run_.cells if c.path == "gateway")
    logged = "no request_logs table in this build" if run_.log_rows is None else f"{run_.log_rows:,} rows"
    lines.append(f"Request log: {logged} for {total:,} measured gateway requests (plus warm-ups).")
    lines += warnings(run_.cells)
    return "\n".join(lines)


def warnings(cells: list[Cell]) -> list[str]:
    lines = []
    noisy = [c for c in cells if c.other_cores > 0.1]
    if noisy:
        worst = max(noisy, key=lambda c: c.other_cores)
        lines.append(f"Warning: other processes used up to {worst.other_cores:.2f} cores during {len(noisy)} of "
                     f"{len(cells)} cells; req/s and latency there are pessimistic.")
    errors = sum(c.errors for c in cells)
    if errors:
        lines.append(f"Warning: {errors} requests failed (non-2xx, timeouts or socket errors); see the table.")
    return lines



@contextlib.contextmanager
def priority(nice: int) -> Iterator[None]:
    """Run at ``nice`` (inherited by every process started here). With autogroups on, the kernel shares CPU
    between sessions before nice values count, so the session's autogroup gets the value too, until the end."""
    if not nice:
        yield
        return
    os.nice(nice)
    group = Path("/proc/self/autogroup")
    before = re.search(r"nice (-?\d+)", group.read_text()) if group.exists() else None
    if before is not None:
        group.write_text(str(nice))
    try:
        yield
    finally:
        if before is not None:
            group.write_text(before.group(1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    # wrk takes whole seconds only.
    parser.add_argument("--duration", type=int, default=8, help="seconds per measured cell (default 8)")
    parser.add_argument("--quick", action="store_true", help="3 s cells, 1 s warm-ups, two starts")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of unmeasured load before each cell")
    parser.add_argument("--concurrency", type=lambda s: [int(x) for x in s.split(",")], default=[1, 10, 50])
    parser.add_argument("--starts", type=int, default=3, help="gateway starts timed (the last one is measured)")
    parser.add_argument("--json", type=Path, help="also save the raw figures to this file")
    parser.add_argument("--max-wait", type=float, default=30.0,
                        help="before each cell, wait up to this many seconds for other processes to go quiet")
    parser.add_argument("--nice", type=int, default=0,
                        help="run the driver, every process it starts and its session's autogroup at this nice "
                        "value, so that other work on a shared machine disturbs less (below 0 needs root)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.starts = 3, 1, 2
    args.starts, args.duration, args.warmup = max(1, args.starts), max(1, args.duration), max(1, args.warmup)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with: apt-get install -y wrk", file=sys.stderr)
        return 2
    if not GATEWAY_BIN.exists():
        print(f"{GATEWAY_BIN} is missing: run `make venv` first.", file=sys.stderr)
        return 2
    gateway_core: int | None = 0
    load_core: int | None = 1
    if args.no_pin or (os.cpu_count() or 1) < 2 or shutil.which("taskset") is None:
        gateway_core = load_core = None
        print("note: running without core pinning (--no-pin, one core, or no taskset)", file=sys.stderr)
    else:
        os.sched_setaffinity(0, {1})  # the driver's polling must not take the gateway's core
    try:
        with priority(args.nice):
            result = run(args, gateway_core, load_core)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(result))
    if args.json is not None:
        args.json.write_text(json.dumps(asdict(result), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
