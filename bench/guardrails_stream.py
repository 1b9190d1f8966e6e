"""Streams with an output guardrail: time to the first content byte, and to the last, against the hold-back window.

    .venv/bin/python bench/guardrails_stream.py [--streams 20] [--words 200] [--chunk-delay-ms 5]

The fake provider streams one word per chunk with ``--chunk-delay-ms`` between chunks; the gateway relays a
200-word answer with no output guardrail, and with the ``secrets`` output guardrail (action block) at several
``gateway.guardrails.stream_window`` values (0 = automatic: the longest span the guardrails report, 200
characters for secrets). Time to first byte is measured to the first chunk with content, with httpx, in process.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

GATEWAY = [sys.executable, "-m", "gateway"]


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen([*GATEWAY, *args], stdout=out, stderr=subprocess.STDOUT)


def wait_for(pattern: str, log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text(errors="replace"))
        if found:
            return found.group(1)
        time.sleep(0.05)
    raise RuntimeError(f"not ready: {log.read_text(errors='replace')[-2000:]}")


def run_gateway(tmp: Path, fake: str, window: int | None, port: int) -> subprocess.Popen[bytes]:
    section: dict[str, Any] = {}
    if window is not None:
        section = {
            "policies": [{"name": "out", "output": [{"type": "secrets", "action": "block"}]}],
            "default": ["out"],
            "stream_window": window,
        }
    config = {
        "model_list": [{"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": fake, "api_key": "x"}}],
        "general_settings": {"database_url": f"sqlite:///{tmp / f'g{port}.db'}"},
        "gateway": {"guardrails": section},
    }
    path = tmp / f"g{port}.yaml"
    path.write_text(yaml.safe_dump(config))
    process = start(
        ["serve", "--config", str(path), "--port", str(port), "--log-level", "warning"], tmp / f"g{port}.log"
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("gateway did not start")


def one_stream(url: str, words: int) -> tuple[float, float]:
    text = " ".join(f"word{i}" for i in range(words))
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": text}]}
    started = time.perf_counter()
    first = None
    with httpx.stream("POST", url + "/v1/chat/completions", json=body, timeout=120) as response:
        for line in response.iter_lines():
            if first is None and '"content":"' in line and '"content":""' not in line:
                first = time.perf_counter() - started
    return (first or 0.0) * 1000, (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, default=20)
    parser.add_argument("--words", type=int, default=200)
    parser.add_argument("--chunk-delay-ms", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    fake_log = tmp / "fake.log"
    fake = start(["fake-provider", "--port", "0", "--chunk-delay-ms", str(args.chunk_delay_ms)], fake_log)
    try:
        fake_url = wait_for(r"listening on (http://\S+)", fake_log) + "/v1"
        print(f"{args.streams} streams of {args.words} one-word chunks, {args.chunk_delay_ms} ms apart\n")
        print("| output guardrail | window (chars) | first content byte p50 ms | last byte p50 ms |")
        print("| --- | ---: | ---: | ---: |")
        for port, window in enumerate((None, 0, 32, 128, 512), start=18400):
            gateway = run_gateway(tmp, fake_url, window, port)
            try:
                one_stream(f"http://127.0.0.1:{port}", 10)  # warm-up
                timings = [one_stream(f"http://127.0.0.1:{port}", args.words) for _ in range(args.streams)]
            finally:
                gateway.terminate()
                gateway.wait()
            label = "none" if window is None else "secrets (block)"
            shown = "-" if window is None else ("auto (200)" if window == 0 else str(window))
            print(
                f"| {label} | {shown} | {statistics.median(t[0] for t in timings):.1f} | "
                f"{statistics.median(t[1] for t in timings):.1f} |"
            )
    finally:
        fake.terminate()
        fake.wait()


if __name__ == "__main__":
    main()
