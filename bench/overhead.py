"""How much the gateway costs on top of a direct call: throughput, latency, CPU, memory and start-up time.

Run ``.venv/bin/python bench/overhead.py`` (``--quick`` for 3 s cells; ``--help``). A script, not a test: it
prints Markdown for docs/benchmarks.md (progress on stderr) and never asserts on time. ``bench/README.md`` has
the method.

Contract: one run starts the fake provider (0 ms) and ``gateway serve`` (one worker, SQLite in a temp dir, no
master key) as real processes, pins the gateway to core 0 and wrk + the fake + this driver to core 1, and drives
the same wrk Lua scripts (``bench/lua/``) DIRECT to the fake and THROUGH the gateway, plain and streamed, at each
concurrency, each direct cell followed at once by its gateway cell. CPU per request is a server's user+sys time
(all threads: the background log writer counts) over the requests wrk completed. Exit status: 0 after printing;
2 when wrk is missing, a server does not start, or a warm-up completes no 2xx request.
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
from collections.abc import Iterator
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
TARGET_RPS, TARGET_P50_MS, TARGET_CPU_MS, TARGET_RSS_MB, TARGET_READY_S = 2000.0, 1.0, 0.5, 150.0, 2.0


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
    with log.open("ab") as out:
        started = time.perf_counter()
        process = subprocess.Popen(pinned(core, command), stdout=out, stderr=subprocess.STDOUT, cwd=config.parent)
    deadline = started + 60
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if health_ok(port):
            return process, f"http://127.0.0.1:{port}", time.perf_counter() - started
        time.sleep(0.002)
    stop(process)
    raise RuntimeError(f"the gateway was not ready after 60 s:\n{log.read_text(errors='replace')}")


def health_ok(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/health")
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
    """One warmed-up wrk run against ``target`` (path, url, server pid), with the CPU each side spent on it."""
    path, url, server_pid = target
    mode, concurrency, seconds, core = load["mode"], load["concurrency"], load["seconds"], load["core"]
    pids = {server_pid, fake_pid, gateway_pid}
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
    gateway_spent = spent[gateway_pid] if path == "gateway" else 0.0
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
            for mode in ("plain", "stream"):
                for concurrency in args.concurrency:
                    load = {"mode": mode, "concurrency": concurrency, "seconds": args.duration,
                            "warmup": args.warmup, "core": load_core, "max_wait": args.max_wait}
                    for target in (("direct", fake_url, fake.pid), ("gateway", url, gateway.pid)):
                        result.cells.append(measure(target, fake.pid, gateway.pid, load))
                        print(f"  {mode} c={concurrency} {target[0]}: {result.cells[-1].rps:,.0f} req/s",
                              file=sys.stderr, flush=True)
            memory = memory_mb(gateway.pid)
            result.rss_after_mb, result.rss_peak_mb = memory["VmRSS"], memory["VmHWM"]
        finally:
            stop(gateway)
        result.log_rows = count_log_rows(workdir / "bench.db")
    return result



def pair(run_: Run, mode: str, concurrency: int) -> tuple[Cell, Cell]:
    cells = {c.path: c for c in run_.cells if c.mode == mode and c.concurrency == concurrency}
    return cells["direct"], cells["gateway"]


def signed(value: float, digits: int = 2) -> str:
    return f"{value:+,.{digits}f}"


def figures_table(run_: Run) -> list[str]:
    lines = ["| mode | c | path | req/s | p50 ms | p99 ms | CPU ms/req | cores busy: gateway / load / others |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | --- |"]
    for mode in ("plain", "stream"):
        for concurrency in run_.settings["concurrency"]:
            direct, gateway = pair(run_, mode, concurrency)
            label = "JSON" if mode == "plain" else "SSE"
            for cell, name in ((direct, "direct"), (gateway, "gateway")):
                flag = f" ({cell.errors} errors)" if cell.errors else ""
                cpu = f"{cell.server_cpu_ms:.3f}" + (" (fake)" if name == "direct" else "")
                busy = f"{cell.gateway_core_busy:.2f} / {cell.load_core_busy:.2f} / {cell.other_cores:.2f}"
                lines.append(f"| {label} | {concurrency} | {name}{flag} | {cell.rps:,.0f} | {cell.p50_ms:.2f} | "
                             f"{cell.p99_ms:.2f} | {cpu} | {busy} |")
            lines.append(
                f"| {label} | {concurrency} | **overhead** | {signed(gateway.rps - direct.rps, 0)} "
                f"(x{gateway.rps / direct.rps:.2f}) | {signed(gateway.p50_ms - direct.p50_ms)} "
                f"(x{gateway.p50_ms / direct.p50_ms:.1f}) | {signed(gateway.p99_ms - direct.p99_ms)} "
                f"(x{gateway.p99_ms / direct.p99_ms:.1f}) | {signed(gateway.server_cpu_ms, 3)} | |")
    return lines


def targets_table(run_: Run) -> list[str]:
    concurrencies = run_.settings["concurrency"]
    top, low = max(concurrencies), min(concurrencies)
    rows: list[tuple[str, str, bool]] = []
    plain_top = pair(run_, "plain", top)[1]
    rows.append((f"≥ {TARGET_RPS:,.0f} req/s, JSON, c={top}", f"{plain_top.rps:,.0f} req/s",
                 plain_top.rps >= TARGET_RPS))
    for mode, label in (("plain", "JSON"), ("stream", "SSE")):
        direct, gateway = pair(run_, mode, low)
        overhead = gateway.p50_ms - direct.p50_ms
        rows.append((f"p50 overhead ≤ {TARGET_P50_MS:g} ms, {label}, c={low}", f"{overhead:.2f} ms",
                     overhead <= TARGET_P50_MS))
    for mode, label in (("plain", "JSON"), ("stream", "SSE")):
        cells = [c for c in run_.cells if c.path == "gateway" and c.mode == mode]
        worst = max(cells, key=lambda c: c.server_cpu_ms)
        at_top = pair(run_, mode, top)[1].server_cpu_ms
        rows.append((f"CPU ≤ {TARGET_CPU_MS:g} ms/request, {label}", f"{at_top:.3f} ms at c={top} "
                     f"(worst {worst.server_cpu_ms:.3f} at c={worst.concurrency})", at_top <= TARGET_CPU_MS))
    rows.append((f"idle RSS < {TARGET_RSS_MB:g} MB", f"{run_.rss_idle_mb:.0f} MB (after load "
                 f"{run_.rss_after_mb:.0f} MB, peak {run_.rss_peak_mb:.0f} MB)", run_.rss_idle_mb < TARGET_RSS_MB))
    first, worst_ready = run_.ready_s[0], max(run_.ready_s)
    restarts = run_.ready_s[1:]
    detail = f"{worst_ready:.2f} s worst of {len(run_.ready_s)} (new database {first:.2f} s"
    detail += f", restart median {statistics.median(restarts):.2f} s)" if restarts else ")"
    rows.append((f"ready < {TARGET_READY_S:g} s", detail, worst_ready < TARGET_READY_S))
    lines = ["| target | measured | result |", "| --- | --- | --- |"]
    lines += [f"| {name} | {value} | {'PASS' if ok else '**MISS**'} |" for name, value, ok in rows]
    return lines


def report(run_: Run) -> str:
    m = run_.machine
    lines = [f"Machine: {m['cpu']}, {m['cores']} cores, Python {m['python']}, Linux {m['kernel']}, {m['wrk']}, "
             f"commit {m['commit']}. {m['pinning']}. {run_.settings['seconds']:g} s per cell after a "
             f"{run_.settings['warmup']:g} s warm-up, wrk `-t1 -cN`, fake provider at 0 ms"
             + (f", all processes at nice {run_.settings['nice']}." if run_.settings["nice"] else "."), ""]
    lines += [*figures_table(run_), "", *targets_table(run_), ""]
    total = sum(c.requests for c in run_.cells if c.path == "gateway")
    logged = "no request_logs table in this build" if run_.log_rows is None else f"{run_.log_rows:,} rows"
    lines.append(f"Request log: {logged} for {total:,} measured gateway requests (plus warm-ups).")
    noisy = [c for c in run_.cells if c.other_cores > 0.1]
    if noisy:
        worst = max(noisy, key=lambda c: c.other_cores)
        lines.append(f"Warning: other processes used up to {worst.other_cores:.2f} cores during {len(noisy)} of "
                     f"{len(run_.cells)} cells; req/s and latency there are pessimistic.")
    errors = sum(c.errors for c in run_.cells)
    if errors:
        lines.append(f"Warning: {errors} requests failed (non-2xx, timeouts or socket errors); see the table.")
    return "\n".join(lines)



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
