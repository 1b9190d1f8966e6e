"""Soak: a gateway under a moderate, steady load for a fixed time, watched for growth and errors.

Run ``.venv/bin/python bench/soak.py`` (10 minutes by default; ``--minutes 1`` for a quick look). A script, not a
test: it prints a Markdown table (one row per interval: requests, errors, p99, the gateway's RSS, the request
log's queue and spill) and a verdict on memory growth, and exits 0 after printing (2 when a server does not start).

Contract: it starts the fake provider (``--latency-ms``, 20 by default, so that a few connections give a moderate
rate rather than the machine's maximum) and ``gateway serve`` as real processes, with the bench config of
``bench/overhead.py`` or the file given with ``--config`` (its ``api_base`` values may use ``{fake}``, replaced by
the fake provider's URL), or, with ``--all-features``, with every feature on as ``bench/features.py`` sets it up
(a virtual key with limits, the request log on a throwaway PostgreSQL database, a prompt reference, guardrails,
the semantic cache with a new question in every request, traces to a local OTLP receiver, metrics). wrk drives
JSON requests in intervals of ``--interval`` seconds; after each, the gateway's RSS, ``/health/ready``'s
request-log state and (all features) the embedder's queue from ``/admin/cache`` are read.
Memory growth is the last interval's RSS against the first's (after warm-up), and the goal is < 10 %.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import overhead  # bench/overhead.py: the same processes, wrk scripts and measures

GROWTH_GOAL = 0.10
MASTER = "sk-bench-master-key"  # bench/features.py's
CACHE_ENTRIES = 2_000  # --all-features: the cache's bound (semantic entries per namespace, exact entries)


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
    with contextlib.ExitStack() as stack:
        _fake, fake_url = stack.enter_context(overhead.fake_provider(cores[1], workdir / "fake.log", args.latency_ms))
        if args.all_features:
            config, prepare = all_features(stack, workdir, fake_url)
        else:
            config, prepare = config_for(args, workdir, fake_url), None
        gateway, url, _ready = overhead.start_gateway(config, cores[0], workdir / "gateway.log")
        stack.callback(overhead.stop, gateway)
        mode = prepare(url) if prepare is not None else "plain"
        overhead.wrk(url, mode, args.concurrency, args.warmup, cores[1])
        return [measured(args, index, url, mode, gateway.pid, cores[1])
                for index in range(max(1, round(args.minutes * 60 / args.interval)))]


def measured(args: argparse.Namespace, index: int, url: str, mode: str, pid: int, core: int | None) -> Interval:
    figures = overhead.wrk(url, mode, args.concurrency, args.interval, core)
    rss = overhead.memory_mb(pid)["VmRSS"]
    state = {**ready_state(url), **(cache_state(url) if mode != "plain" else {})}
    interval = Interval((index + 1) * args.interval / 60, int(figures["requests"]), errors_of(figures),
                        figures["p99_us"] / 1000, rss, state)
    print(f"soak: {interval}", file=sys.stderr)
    return interval


def all_features(stack: contextlib.ExitStack, workdir: Path, fake_url: str) -> tuple[Path, Any]:
    """bench/features.py's "all on, cache miss" gateway: its config, and what prepares the load once it runs
    (the virtual key and the prompt; returns the wrk script's name)."""
    import features  # noqa: PLC0415 - the sibling script imports httpx, yaml and psycopg: only for this mode
    import yaml  # noqa: PLC0415 - idem
    from scale import pg_database  # noqa: PLC0415 - idem
    from telemetry_overhead import otlp_sink  # noqa: PLC0415 - idem

    sink, _received = stack.enter_context(otlp_sink())
    scenario = features.Scenario("all on, cache miss")
    config = features.config(workdir, fake_url, scenario, stack.enter_context(pg_database()), sink)
    # Every question is new: bounded small, the cache is full within the first minute, so that later growth
    # would be a leak, not the cache filling up to its (default 100,000-entry, ~150 MB) bound.
    document = yaml.safe_load(config.read_text())
    document["gateway"]["cache"].update(namespace_entries=CACHE_ENTRIES, max_entries=CACHE_ENTRIES)
    config.write_text(yaml.safe_dump(document, sort_keys=False))

    def prepare(url: str) -> str:
        overhead.SCRIPTS["soak-all"] = features.lua(workdir, scenario, features.prepare(url, scenario), "plain")
        return "soak-all"

    return config, prepare


def cache_state(url: str) -> dict[str, Any]:
    """The semantic cache's embedder queue and what it skipped (``/admin/cache``)."""
    connection = http.client.HTTPConnection(url.removeprefix("http://"), timeout=10)
    try:
        connection.request("GET", "/admin/cache", headers={"Authorization": f"Bearer {MASTER}"})
        body = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    stats = body.get("embedder_stats") or {}
    return {"embed_queued": stats.get("queued", "-"), "skipped": sum((body.get("semantic_skipped") or {}).values())}


def report(intervals: list[Interval], args: argparse.Namespace) -> str:
    lines = [
        f"Soak: {args.minutes:g} min, wrk -c{args.concurrency}, fake provider at {args.latency_ms} ms, "
        f"config {described(args)}.",
        "",
        "| minute | requests | req/s | errors | p99 ms | gateway RSS MB | log queued | log written | spilling "
        "| embedder queued | lookups skipped |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for item in intervals:
        lines.append(
            f"| {item.minute:.1f} | {item.requests:,} | {item.requests / args.interval:,.0f} | {item.errors} "
            f"| {item.p99_ms:.2f} | {item.rss_mb:.1f} | {item.log.get('queued', '-')} "
            f"| {item.log.get('written', '-'):,} | {item.log.get('spilling', '-')} "
            f"| {item.log.get('embed_queued', '-')} | {item.log.get('skipped', '-')} |"
        )
    first, last = intervals[0].rss_mb, intervals[-1].rss_mb
    growth = (last - first) / first
    verdict = "PASS" if growth < GROWTH_GOAL else "**MISS**"
    errors = sum(item.errors for item in intervals)
    lines += ["", f"RSS {first:.1f} MB -> {last:.1f} MB ({growth:+.1%}; goal < {GROWTH_GOAL:.0%}): {verdict}. "
              f"Errors: {errors}."]
    return "\n".join(lines)


def described(args: argparse.Namespace) -> str:
    if args.all_features:
        return "every feature on (bench/features.py's all on, cache miss)"
    return str(args.config or "bench/overhead.py default")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--interval", type=int, default=30, help="seconds per measured interval")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--latency-ms", type=int, default=20, help="the fake provider's latency")
    parser.add_argument("--config", help="a gateway config to soak ({fake} = the fake provider's URL)")
    parser.add_argument("--all-features", action="store_true", help="every feature on, as bench/features.py")
    parser.add_argument("--no-pin", action="store_true")
    args = parser.parse_args(argv)
    if args.all_features and args.config:
        parser.error("--all-features and --config: choose one")
    return args


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
