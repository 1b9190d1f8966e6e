"""How fast ``gateway eval run`` gets through a large suite, and how much the run cache saves on a repeat.

Run ``.venv/bin/python bench/evals.py`` (``--cases 1000 --concurrency 16 --latency-ms 50`` are the defaults;
``--in-process`` starts the gateway inside the eval command from ``--config`` instead of a separate process).
It is a script, not a test: it prints Markdown and never asserts on time.

What one run does:

* starts the built-in fake provider with ``--latency-ms`` (every answer waits that long) and, unless
  ``--in-process``, ``gateway serve`` on a throwaway SQLite database, both as real processes;
* pushes ``prompts/`` into that database and writes a suite of ``--cases`` cases for ``support-reply`` (each with
  its own vars, an ``icontains``, a ``not-icontains`` and a ``latency`` assertion);
* times ``gateway eval run`` as a subprocess, wall clock from spawn to exit (so the CLI's start-up counts), three
  times: cold with ``--no-cache``, cold with the run cache (which fills it), and again (served from the cache);
* prints each run's wall time, the runner's own time (from the JSON report), the CPU time of the eval command
  (user + sys), cases per second, cached answers, and the requests that reached the fake provider. The machine's
  load average is printed too: on a shared machine, other work stretches the wall times.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
GATEWAY = [sys.executable, "-m", "gateway"]
MASTER_KEY = "sk-bench-master"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def fake_provider(latency_ms: int) -> Iterator[str]:
    process = subprocess.Popen([*GATEWAY, "fake-provider", "--port", "0", "--latency-ms", str(latency_ms)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        match = re.search(r"listening on (http://\S+)", process.stdout.readline())
        if match is None:
            raise SystemExit("the fake provider did not start")
        yield match.group(1)
    finally:
        stop(process)


@contextmanager
def gateway(config: Path, workdir: Path) -> Iterator[str]:
    port = free_port()
    log = (workdir / "gateway.log").open("wb")
    process = subprocess.Popen([*GATEWAY, "serve", "--config", str(config), "--port", str(port),
                                "--log-level", "warning"], stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/health", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise SystemExit("the gateway did not start: " + (workdir / "gateway.log").read_text())
        yield url
    finally:
        stop(process)
        log.close()


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    if process.stdout is not None:
        process.stdout.close()


def write_suite(path: Path, cases: int) -> None:
    names = ["Ada", "Grace", "Alan", "Katherine", "Edsger", "Barbara", "Donald", "Frances"]
    suite = {
        "description": f"{cases} generated support questions",
        "prompt": "support-reply",
        "threshold": 1.0,
        "defaults": {"assert": [
            {"type": "icontains", "value": "{{ customer_name }}"},
            {"type": "not-icontains", "value": "as an ai language model"},
            {"type": "latency", "threshold": 5000, "weight": 0},
        ]},
        "cases": [
            {"id": f"q{i:04d}", "vars": {"customer_name": names[i % len(names)],
                                          "question": f"Where is my order {10000 + i}?"}}
            for i in range(cases)
        ],
    }
    path.write_text(yaml.safe_dump(suite, sort_keys=False))


def timed_run(args: list[str], workdir: Path, report: Path) -> dict[str, Any]:
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([*GATEWAY, "eval", "run", *args, "--json", str(report)], cwd=workdir,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "160"})
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - usage_before.ru_utime - usage_before.ru_stime
    if done.returncode != 0:
        raise SystemExit(f"eval run exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    data = json.loads(report.read_text())
    return {"wall_s": wall, "cpu_s": cpu, "runner_s": data["duration_s"], "cases": data["summary"]["total"],
            "cached": data["summary"]["cached"], "passed": data["passed"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--in-process", action="store_true")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-evals-") as tmp, fake_provider(options.latency_ms) as fake:
        workdir = Path(tmp)
        config = workdir / "gateway.yaml"
        config.write_text(yaml.safe_dump({
            "model_list": [{"model_name": "gpt-4o-mini", "litellm_params": {
                "model": "openai/gpt-4o-mini", "api_base": fake + "/v1", "api_key": "fake"}}],
            "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{workdir / 'gw.db'}"},
        }))
        subprocess.run([*GATEWAY, "prompts", "push", str(ROOT / "prompts"), "--config", str(config)],
                       check=True, capture_output=True)
        suite = workdir / "bench-suite.yaml"
        write_suite(suite, options.cases)
        common = [str(suite), "--concurrency", str(options.concurrency), "--config", str(config)]
        if options.in_process:
            rows = run_all(common, workdir, fake)
        else:
            with gateway(config, workdir) as url:
                rows = run_all([*common, "--gateway", url, "--api-key", MASTER_KEY], workdir, fake)
    mode = "in process (--config)" if options.in_process else "against a running gateway (--gateway)"
    print(f"### gateway eval run: {options.cases} cases, concurrency {options.concurrency}, fake provider "
          f"{options.latency_ms} ms, {mode}\n")
    print("| run | wall time | runner time | eval CPU | cases/s (wall) | from cache | upstream calls |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name, row in rows:
        print(f"| {name} | {row['wall_s']:.2f} s | {row['runner_s']:.2f} s | {row['cpu_s']:.2f} s "
              f"| {row['cases'] / row['wall_s']:.0f} | {row['cached']} | {row['upstream']} |")
    print(f"\nLoad average (1, 5, 15 min) at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores.")
    ideal = options.cases / options.concurrency * options.latency_ms / 1000
    print(f"\nFloor set by the fake's latency alone: {ideal:.2f} s. Target: under 10 s of wall time.")


def run_all(common: list[str], workdir: Path, fake: str) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for name, extra in (("cold, --no-cache", ["--no-cache"]), ("cold, cache filling", []), ("repeat (cached)", [])):
        before = httpx.get(fake + "/_fake/stats").json()["total"]
        row = timed_run([*common, *extra], workdir, workdir / "report.json")
        row["upstream"] = httpx.get(fake + "/_fake/stats").json()["total"] - before
        rows.append((name, row))
    return rows


if __name__ == "__main__":
    main()
