"""What telemetry costs the gateway: CPU per request and throughput with traces and metrics off and on.

Run ``.venv/bin/python bench/telemetry_overhead.py`` (``--help``); ``bench/README.md`` has the method. A script,
not a test: it prints a Markdown table and never asserts on time.

Contract: the same processes and measurement as ``overhead.py`` (whose functions it uses): the fake provider at
0 ms, ``gateway serve`` pinned to core 0, wrk on core 1, plain and streamed chat at one concurrency. The gateway is
restarted once per telemetry setting, and the settings are run in rounds (off, metrics, traces..., then again),
so that a busy spell of a shared machine does not fall on one setting only. Spans go over OTLP/HTTP to a receiver
in this driver (on core 1) that answers 200 without decoding, so the gateway pays for building, batching and
encoding every span, as against a real collector. Ratios are against "off" in the same round.

``--in-process N`` measures instead, without HTTP or wrk, what each part costs per request in this process (CPU
time of each thread: ``Metrics.observe``; a request span and one attempt span on the loop's thread; their batched
export to a receiver in another process on the exporter's thread), which a shared machine disturbs far less.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import yaml

from gateway.config.models import TelemetrySettings
from gateway.pipeline.context import Principal, RequestContext
from gateway.pipeline.records import RequestRecord
from gateway.routing.deployment import Deployment
from gateway.server import SERVED_GC_THRESHOLD

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead  # the sibling script, found through the path set just above

#: Telemetry settings: ``gateway.telemetry`` of the config (None: the receiver's endpoint is filled in).
SETTINGS: dict[str, dict[str, Any]] = {
    "off": {"metrics": False},
    "metrics": {"metrics": True},
    "traces 10%": {"metrics": False, "otlp_endpoint": None, "sample_ratio": 0.1},
    "traces 100%": {"metrics": False, "otlp_endpoint": None, "sample_ratio": 1.0},
    "all (metrics + traces 100%)": {"metrics": True, "otlp_endpoint": None, "sample_ratio": 1.0},
}


@contextlib.contextmanager
def otlp_sink() -> Iterator[tuple[str, list[int]]]:
    """An OTLP/HTTP endpoint that accepts every export; yields its URL and the bytes received."""
    received = [0]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received[0] += len(self.rfile.read(int(self.headers.get("content-length", 0))))
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()


def config_for(base: Path, name: str, endpoint: str) -> Path:
    config = yaml.safe_load(base.read_text())
    telemetry = dict(SETTINGS[name])
    if "otlp_endpoint" in telemetry:
        telemetry["otlp_endpoint"] = endpoint
    config["gateway"] = {"telemetry": telemetry}
    path = base.with_name(f"bench-{len(name)}-{abs(hash(name)) % 10_000}.yaml")
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def run(args: argparse.Namespace, gateway_core: int | None, load_core: int | None) -> dict[str, list[Any]]:
    cells: dict[str, list[Any]] = {name: [] for name in SETTINGS}
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gw-telemetry-bench-")))
        fake, fake_url = stack.enter_context(overhead.fake_provider(load_core, workdir / "fake.log"))
        endpoint, _received = stack.enter_context(otlp_sink())
        base = overhead.write_config(workdir, fake_url)
        for round_ in range(args.rounds):
            for name in SETTINGS:
                gateway, url, _ready = overhead.start_gateway(config_for(base, name, endpoint), gateway_core,
                                                              workdir / "gateway.log")
                try:
                    for mode in ("plain", "stream"):
                        load = {"mode": mode, "concurrency": args.concurrency, "seconds": args.duration,
                                "warmup": args.warmup, "core": load_core, "max_wait": args.max_wait}
                        cell = overhead.measure(("gateway", url, gateway.pid), fake.pid, gateway.pid, load)
                        cells[name].append((round_, cell))
                        print(f"  round {round_ + 1} {name} {mode}: {cell.rps:,.0f} req/s, "
                              f"{cell.server_cpu_ms:.3f} ms CPU/req", file=sys.stderr, flush=True)
                finally:
                    overhead.stop(gateway)
    return cells


def report(cells: dict[str, list[Any]], args: argparse.Namespace) -> str:
    lines = [
        f"Telemetry overhead: wrk c={args.concurrency}, {args.duration} s cells, {args.rounds} rounds "
        f"(medians; ratio against off in the same round)",
        "",
        "| telemetry | mode | req/s | CPU per request | CPU ratio | others (cores) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, found in cells.items():
        for mode in ("plain", "stream"):
            mine = [(r, c) for r, c in found if c.mode == mode]
            off = {r: c for r, c in cells["off"] if c.mode == mode}
            ratios = [c.server_cpu_ms / off[r].server_cpu_ms for r, c in mine if off[r].server_cpu_ms]
            lines.append(
                f"| {name} | {mode} | {statistics.median(c.rps for _, c in mine):,.0f} "
                f"| {statistics.median(c.server_cpu_ms for _, c in mine):.3f} ms "
                f"| {statistics.median(ratios):.3f} | {statistics.median(c.other_cores for _, c in mine):.2f} |"
            )
    return "\n".join(lines)


#: A chat answer as the fake provider sends it: what the request span reads its response attributes from.
ANSWER = (b'{"id":"chatcmpl-1","object":"chat.completion","model":"m","choices":[{"index":0,"finish_reason":"stop",'
          b'"message":{"role":"assistant","content":"hello"}}],"usage":{"prompt_tokens":9,"completion_tokens":2}}')


#: The pipeline's stages a request passes through (``Tracing.stage`` times each one of a traced request).
STAGES = ("limits", "prompts", "guardrails", "cache", "cost")


def traced_request(number: int) -> tuple[RequestContext, RequestRecord]:
    """A request's context and record as the pipeline leaves them: a key and team, a few sampling parameters."""
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.2, "max_tokens": 64}
    ctx = RequestContext(request_id=f"req_{number}", endpoint="chat", body=body, model="m",
                         principal=Principal(key_id="k", key_name="bench-key", team_id="t", team_name="bench-team"))
    ctx.response_body = ANSWER
    record = RequestRecord(request_id=ctx.request_id, created_at=ctx.started_at, endpoint="chat", model="m",
                           status=200, latency_ms=1.5, stream=False, deployment_id="m-0", provider="openai",
                           upstream_model="m", attempts=1, prompt_tokens=9, completion_tokens=2, cost_usd=1.3e-05)
    return ctx, record


async def _trace_requests(
    tracing: Any, deployment: Deployment, pairs: list[tuple[RequestContext, RequestRecord]]
) -> None:
    async def call(_deployment: Deployment) -> None:
        return None

    for ctx, record in pairs:
        tracing.start_request(ctx)
        for stage in STAGES:  # each timed; none slow enough for a span of its own
            with tracing.stage(ctx, stage):
                pass
        await tracing.attempts(ctx, call)(deployment)
        tracing.finish(ctx, record)


def in_process(count: int) -> str:
    """Microseconds of CPU per request of each telemetry part, in this process (no HTTP, no load generator):
    the metrics' count, the spans (and the stage timers) on the event loop's thread, and their export (batching,
    encoding, the POST to a receiver in another process) on the exporter's thread."""
    import asyncio  # noqa: PLC0415 - only this mode runs an event loop here
    import multiprocessing  # noqa: PLC0415 - idem, for the receiver

    from gateway.telemetry.metrics import Metrics  # noqa: PLC0415 - loads prometheus-client
    from gateway.telemetry.tracing import start_tracing  # noqa: PLC0415 - loads OpenTelemetry

    # As ``gateway serve`` runs (``gateway.server.tune_gc``), and a queue that keeps every span of the run: a full
    # one drops spans, which would leave their export out of the figure.
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVED_GC_THRESHOLD)
    os.environ.setdefault("OTEL_BSP_MAX_QUEUE_SIZE", str(2 * count + 1000))
    deployment = Deployment(id="m-0", model_name="m", provider_name="openai", upstream_model="m",
                            provider=cast(Any, None), fast_path=True, timeout=60, stream_timeout=60)
    metrics = Metrics(["m"])
    pairs = [traced_request(n) for n in range(count)]
    started = time.thread_time()
    for ctx, record in pairs:
        metrics.observe(ctx, record)
    rows = [("metrics (`Metrics.observe`)", (time.thread_time() - started) / count)]
    queue: multiprocessing.Queue[str] = multiprocessing.Queue()
    sink = multiprocessing.Process(target=_serve_sink, args=(queue,), daemon=True)
    sink.start()
    try:
        tracing = start_tracing(TelemetrySettings(otlp_endpoint=queue.get(timeout=10), sample_ratio=1.0))
        assert tracing is not None
        asyncio.run(_trace_requests(tracing, deployment, pairs[:200]))  # warm-up
        tracing._provider.force_flush()
        pairs = [traced_request(n) for n in range(count)]
        process, loop = time.process_time(), time.thread_time()
        asyncio.run(_trace_requests(tracing, deployment, pairs))
        loop = time.thread_time() - loop
        tracing._provider.force_flush()
        process = time.process_time() - process
        asyncio.run(tracing.aclose())
    finally:
        sink.terminate()
    rows += [("traces: the spans, on the event loop's thread", loop / count),
             ("traces: their export, on the exporter's thread", (process - loop) / count)]
    lines = [f"In process, {count:,} requests (CPU µs per request)", "", "| part | µs |", "| --- | ---: |"]
    return "\n".join(lines + [f"| {name} | {seconds * 1e6:.1f} |" for name, seconds in rows])


def _serve_sink(queue: Any) -> None:
    with otlp_sink() as (url, _received):
        queue.put(url)
        threading.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=6, help="seconds per measured cell (default 6)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3, help="times each setting is measured (default 3)")
    parser.add_argument("--max-wait", type=float, default=10.0)
    parser.add_argument("--in-process", type=int, metavar="N", default=0,
                        help="instead: CPU per request of each part, N requests in this process (no gateway)")
    args = parser.parse_args(argv)
    if args.in_process:
        print(in_process(args.in_process))
        return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed. Install it with: apt-get install -y wrk", file=sys.stderr)
        return 2
    gateway_core, load_core = 0, 1
    os.sched_setaffinity(0, {1})
    try:
        cells = run(args, gateway_core, load_core)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report(cells, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
