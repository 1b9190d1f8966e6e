"""What the guardrails stage adds to a request: p50/p99 of its ``before`` (pre_call) on 500-word chat inputs,
per guardrail and for the default policy, on one core.

    .venv/bin/python bench/guardrails_latency.py [--runs 300] [--classifier-runs 20]

The input is 500 words of Presidio's synthetic sentences (names, addresses, an email and a phone number among
them), one user message. Each row is a policy with that one guardrail (action warn, so every run does the same
work), timed in process with ``perf_counter`` around ``GuardrailStage.before``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import guardrails_data as data

from gateway.config.guardrails import GuardrailsSection
from gateway.guardrails.detectors.registry import build_detector
from gateway.guardrails.engine import Engine
from gateway.guardrails.policy import load_policies
from gateway.guardrails.stage import GuardrailStage
from gateway.localmodels import LocalModels
from gateway.pipeline.context import RequestContext

ROWS: list[tuple[str, list[dict[str, Any]]]] = [
    ("pii (default: US phones)", [{"type": "pii", "action": "warn"}]),
    ("secrets", [{"type": "secrets", "action": "warn"}]),
    ("prompt_injection, heuristics only", [{"type": "prompt_injection", "action": "warn", "classifier": False}]),
    ("words (20 banned words)", [{"type": "words", "action": "warn", "words": [f"banned{i}" for i in range(20)]}]),
    ("invisible_text", [{"type": "invisible_text", "action": "warn"}]),
    ("size", [{"type": "size", "action": "warn", "max_tokens": 100_000}]),
    (
        "default policy without classifier (pii mask + secrets + injection heuristics + invisible)",
        [
            {"type": "pii", "action": "mask"},
            {"type": "secrets", "action": "block"},
            {"type": "prompt_injection", "action": "block", "classifier": False},
            {"type": "invisible_text", "action": "redact"},
        ],
    ),
]
CLASSIFIER_ROW = (
    "prompt_injection with the MiniLM classifier",
    [{"type": "prompt_injection", "action": "warn", "classifier": True}],
)


def text_of(words: int) -> str:
    sentences = [s for s in data.presidio_sentences()[0] if "@" not in s and not any(c.isdigit() for c in s)]
    out: list[str] = ["Please reply to ada@example.org or +1 415 555 2671."]
    for sentence in sentences:
        out.append(sentence.replace("\n", " "))
        if sum(len(s.split()) for s in out) >= words:
            break
    return " ".join(out)


async def measure(guardrails: list[dict[str, Any]], text: str, runs: int, models: LocalModels) -> list[float]:
    section = GuardrailsSection(policies=[{"name": "p", "input": guardrails}], default=["p"])
    policies = load_policies(section, lambda s: build_detector(s.type, s.options, models))
    stage = GuardrailStage(Engine(policies, section))
    timings = []
    for index in range(runs + 2):
        body = {"model": "m", "messages": [{"role": "user", "content": text}]}
        ctx = RequestContext(request_id=f"r{index}", endpoint="chat", body=body, model="m")
        started = time.perf_counter()
        await stage.before(ctx)
        if index >= 2:  # the first two warm caches (and load the model)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--classifier-runs", type=int, default=10)
    parser.add_argument("--words", type=int, default=500)
    args = parser.parse_args()
    text = text_of(args.words)
    models = LocalModels()
    print(f"input: {len(text.split())} words, {len(text)} characters\n")
    print("| guardrail | runs | p50 ms | p99 ms | mean ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    rows = [(name, guardrails, args.runs) for name, guardrails in ROWS]
    if args.classifier_runs:
        rows.append((*CLASSIFIER_ROW, args.classifier_runs))
    for name, guardrails, runs in rows:
        timings = await measure(guardrails, text, runs, models)
        print(
            f"| {name} | {runs} | {statistics.median(timings):.2f} | {_pct(timings, 0.99):.2f} | "
            f"{statistics.fmean(timings):.2f} |"
        )


if __name__ == "__main__":
    asyncio.run(main())
