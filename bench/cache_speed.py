"""How fast the cache answers: the cache stage's time for an exact hit, a semantic lookup (embed + search +
check) at 100k entries in one namespace, and the memory the local embedder adds.

Run ``.venv/bin/python bench/cache_speed.py [--entries 100000] [--lookups 300]``. A script, not a test: it prints
Markdown for docs/caching.md and never asserts on time. Everything runs on one core (BLAS on one thread, as the
gateway runs it); on a shared machine the absolute figures are noisy, so read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np

from gateway.cache.checks import disagreement, features
from gateway.cache.exact import MemoryStore
from gateway.cache.index import Entry, Namespace
from gateway.cache.stage import CacheStage
from gateway.config.models import CacheSettings
from gateway.localmodels.minilm import MiniLM
from gateway.pipeline.context import Principal, RequestContext

QUESTIONS = [
    "How do I reset my password?", "What is the capital of Australia?", "Convert 100 dollars to euros",
    "Why is the sky blue?", "How long should I boil an egg?", "What does HTTP 503 mean?",
]
RSS_SCRIPT = """
import re
def rss():
    return int(re.search(r"VmRSS:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) / 1024
before = rss()
from gateway.localmodels.minilm import MiniLM
model = MiniLM()  # kept: measured after the statement, a temporary MiniLM would already be freed
model.encode(["warm up the model"])
print(f"{before:.1f} {rss():.1f}")
"""


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def exact_hit_ms(runs: int) -> list[float]:
    """``before`` of the cache stage for a request whose answer is stored (memory store, team scope)."""
    stage = CacheStage(CacheSettings(mode="exact"), MemoryStore(10_000, 64 * 2**20))
    body = {"model": "m", "messages": [{"role": "user", "content": QUESTIONS[0]}], "temperature": 0}
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Use the reset link. " * 20},
         "finish_reason": "stop"}]}

    def ctx() -> RequestContext:
        return RequestContext("r", "chat", dict(body), "m", principal=Principal(key_id="k", team_id="t"))

    async def run() -> list[float]:
        first = ctx()
        await stage.before(first)
        import orjson  # noqa: PLC0415 - a bench: the import's cost is not what is measured

        pending = first.take("cache")
        await stage.store.put(pending.ident.key, pending.ident.tag,  # type: ignore[attr-defined]
                              orjson.dumps({"at": time.time(), "body": answer}), 60)
        out = []
        for _ in range(runs):
            request = ctx()
            started = time.perf_counter()
            hit = await stage.before(request)
            out.append((time.perf_counter() - started) * 1000)
            assert hit is not None and request.cache_status == "hit"
        return out

    return asyncio.run(run())


def served_hit_ms(runs: int, workdir: Path) -> tuple[list[float], list[float]]:
    """``x-gateway-overhead-ms`` of exact hits and of misses through a running gateway (memory cache, fake
    provider at 0 ms): the gateway's own time for a request, from its context to its record."""
    fake = subprocess.Popen([sys.executable, "-m", "gateway", "fake-provider", "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    gateway = None
    try:
        url = _listening(fake)
        config = workdir / "gateway.yaml"
        config.write_text(
            "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o-mini, api_base: "
            f"'{url}/v1', api_key: fake}}\n"
            f"general_settings: {{database_url: 'sqlite:///{workdir}/gw.db'}}\ngateway: {{cache: exact}}\n")
        port = _free_port()
        gateway = subprocess.Popen([sys.executable, "-m", "gateway", "serve", "--config", str(config), "--port",
                                    str(port), "--log-level", "warning"], cwd=workdir)
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base)
        with httpx.Client(base_url=base, timeout=30) as client:
            hits: list[float] = []
            misses: list[float] = []
            for run in range(runs):
                body = {"model": "m", "messages": [{"role": "user", "content": f"question {run % 50}"}]}
                response = client.post("/v1/chat/completions", json=body)
                target = hits if response.headers["x-gateway-cache"] == "hit" else misses
                target.append(float(response.headers["x-gateway-overhead-ms"]))
        return hits, misses
    finally:
        for process in (gateway, fake):
            if process is not None:
                process.terminate()
                process.wait(timeout=10)


def _listening(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    for line in process.stdout:
        if "listening on" in line:
            return line.split("listening on", 1)[1].split()[0]
    raise RuntimeError("the fake provider did not start")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise RuntimeError("the gateway did not start")


def semantic_ms(model: MiniLM, entries: int, runs: int) -> dict[str, list[float]]:
    rng = np.random.default_rng(7)
    space = Namespace(384, entries)
    vectors = rng.standard_normal((entries, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = model.encode(QUESTIONS)
    texts = [QUESTIONS[i % len(QUESTIONS)] for i in range(entries)]
    for i in range(entries):
        vector = stored[i % len(QUESTIONS)] if i < len(QUESTIONS) else vectors[i]
        space.add(Entry(f"k{i}", "t.t", texts[i], features(texts[i]), 0, time.time() + 3600), vector)
    parts: dict[str, list[float]] = {"embed": [], "search": [], "check": [], "total": []}
    for run in range(runs):
        text = QUESTIONS[run % len(QUESTIONS)].replace("?", " please?")
        started = time.perf_counter()
        query = model.encode([text])[0]
        embedded = time.perf_counter()
        found = space.search(query, 4)
        searched = time.perf_counter()
        asked = features(text)
        for _, entry in found:
            disagreement(asked, entry.features)
        checked = time.perf_counter()
        parts["embed"].append((embedded - started) * 1000)
        parts["search"].append((searched - embedded) * 1000)
        parts["check"].append((checked - searched) * 1000)
        parts["total"].append((checked - started) * 1000)
    return parts


def embedder_rss() -> tuple[float, float]:
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT], capture_output=True, text=True, check=True)
    before, after = (float(x) for x in done.stdout.split())
    return before, after


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--exact-only", action="store_true", help="only the exact-hit rows (seconds, not minutes)")
    args = parser.parse_args()
    print("| measure | p50 ms | p99 ms |\n| --- | --- | --- |")
    p50, p99 = percentiles(exact_hit_ms(2000))
    print(f"| exact hit: the cache stage's `before` (key, lookup, body) | {p50:.3f} | {p99:.3f} |")
    with tempfile.TemporaryDirectory() as workdir:
        hits, misses = served_hit_ms(1000, Path(workdir))
    for name, samples in (("exact hit", hits), ("miss (cache on, upstream at 0 ms)", misses)):
        p50, p99 = percentiles(samples)
        print(f"| {name}: the gateway's time, `x-gateway-overhead-ms`, {len(samples)} requests | {p50:.3f} | "
              f"{p99:.3f} |")
    if args.exact_only:
        return 0
    model = MiniLM()
    model.encode(["warm up"])
    for entries in (10_000, args.entries):
        for name, samples in semantic_ms(model, entries, args.lookups).items():
            p50, p99 = percentiles(samples)
            print(f"| semantic lookup at {entries:,} entries: {name} | {p50:.2f} | {p99:.2f} |")
    before, after = embedder_rss()
    print(f"\nRSS added by the local embedder (all-MiniLM-L6-v2, numpy): {after - before:.0f} MB "
          f"({before:.0f} MB before loading, {after:.0f} MB after one sentence).")
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"\nLoad average while measuring: {load} on {os.cpu_count()} cores (a machine shared with other work).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
