"""Soak: a gateway under a moderate, steady load for a fixed time, watched for growth and errors.

Run ``.venv/bin/python bench/soak.py`` (10 minutes by default; ``--minutes 1`` for a quick look). A script, not a
test: it prints a Markdown table (one row per interval: requests, errors, p99, the gateway's RSS, the request
log's queue and spill) and a verdict on memory growth, and exits 0 after printing (2 when a server does not start).

Contract: it starts the fake provider (``--latency-ms``, 20 by default, so that a few connections give a moderate
rate rather than the machine's maximum) and ``gateway serve`` as real processes, with the bench config of
``bench/overhead.py`` or the file given with ``--config`` (its ``api_base`` values may use ``{fake}``, replaced by
the fake provider's URL, so that a config with every feature on can be soaked). wrk drives JSON requests in
intervals of ``--interval`` seconds; after each, the gateway's RSS and ``/health/ready``'s request-log state are
read. Memory growth is the last interval's RSS against the first's (after warm-up), and the goal is < 10 %.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import overhead  # bench/overhead.py: the same processes, wrk scripts and measures

GROWTH_GOAL = 0.10


@dataclass
class Interval:
    minute: float
    requests: int
    errors: int
    p99_ms: float
    rss_mb: float
    log: dict[str, Any]


def ready_state(url: str) -> dict[str, Any]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request("GET", "/health/ready")
        body: dict[str, Any] = json.loads(connection.getresponse().read())
        state: dict[str, Any] = body.get("request_log") or {}
        return state
    finally:
        connection.close()


def errors_of(figures: dict[str, Any]) -> int:
    keys = ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    return sum(int(figures.get(key, 0)) for key in keys)


def config_for(args: argparse.Namespace, workdir: Path, fake_url: str) -> Path:
    if args.config is None:
        return overhead.write_config(workdir, fake_url)
    text = Path(args.config).read_text().replace("{fake}", fake_url)
    path = workdir / "soak.yaml"
    path.write_text(text)
    return path


def soak(args: argparse.Namespace, workdir: Path) -> list[Interval]:
    cores = (None, None) if args.no_pin else (0, 1)
    intervals: list[Interval] = []
    with overhead.fake_provider(cores[1], workdir / "fake.log", args.latency_ms) as (_fake, fake_url):
        config = config_for(args, workdir, fake_url)
        gateway, url, _ready = overhead.start_gateway(config, cores[0], workdir / "gateway.log")
        try:
            overhead.wrk(url, "plain", args.concurrency, args.warmup, cores[1])
            rounds = max(1, round(args.minutes * 60 / args.interval))
            for index in range(rounds):
                figures = overhead.wrk(url, "plain", args.concurrency, args.interval, cores[1])
                rss = overhead.memory_mb(gateway.pid)["VmRSS"]
                intervals.append(Interval((index + 1) * args.interval / 60, int(figures["requests"]),
                                          errors_of(figures), figures["p99_us"] / 1000, rss, ready_state(url)))
                print(f"soak: {intervals[-1]}", file=sys.stderr)
        finally:
            overhead.stop(gateway)
    return intervals


def report(intervals: list[Interval], args: argparse.Namespace) -> str:
    lines = [
        f"Soak: {args.minutes:g} min, wrk -c{args.concurrency}, fake provider at {args.latency_ms} ms, "
        f"config {args.config or 'bench/overhead.py default'}.",
        "",
        "| minute | requests | req/s | errors | p99 ms | gateway RSS MB | log queued | log written | spilling |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for item in intervals:
        lines.append(
            f"| {item.minute:.1f} | {item.requests:,} | {item.requests / args.interval:,.0f} | {item.errors} "
            f"| {item.p99_ms:.2f} | {item.rss_mb:.1f} | {item.log.get('queued', '-')} "
            f"| {item.log.get('written', '-'):,} | {item.log.get('spilling', '-')} |"
        )
    first, last = intervals[0].rss_mb, intervals[-1].rss_mb
    growth = (last - first) / first
    verdict = "PASS" if growth < GROWTH_GOAL else "**MISS**"
    errors = sum(item.errors for item in intervals)
    lines += ["", f"RSS {first:.1f} MB -> {last:.1f} MB ({growth:+.1%}; goal < {GROWTH_GOAL:.0%}): {verdict}. "
              f"Errors: {errors}."]
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=int, default=30, help="seconds per measured interval")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=20, help="the fake provider's latency")
    parser.add_argument("--config", help="a gateway config to soak ({fake} = the fake provider's URL)")
    parser.add_argument("--no-pin", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        try:
            intervals = soak(args, Path(tmp))
        except RuntimeError as exc:
            print(f"soak: {exc}", file=sys.stderr)
            return 2
    print(report(intervals, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
