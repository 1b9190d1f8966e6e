"""What the guardrails stage adds to a request: p50/p99 of its ``before`` (pre_call) on 500-word chat inputs,
per guardrail and for the default policy, on one core; then the CPU per short request (``before`` and
``answer``) of each guardrail of ``bench/features.py``'s policy and of the whole policy.

    .venv/bin/python bench/guardrails_latency.py [--runs 300] [--classifier-runs 20] [--short-runs 5000]

The input is 500 words of Presidio's synthetic sentences (names, addresses, an email and a phone number among
them), one user message, new each run. Each row is a policy with that one guardrail (action warn, so every run
does the same work), timed in process with ``perf_counter`` around ``GuardrailStage.before``, with its CPU time
(``process_time``) beside it: wall time on a shared machine counts other processes' turns.

The short requests are features.py's: a system prompt (``Be terse.``), a new user question each time (``Say hello
to benchmark run N of thread 1.``) and the fake provider's echo of it as the answer; CPU microseconds per request
over ``--short-runs`` requests, after 200 of warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

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


def stage_of(policy: dict[str, Any], models: LocalModels | None) -> GuardrailStage:
    section = GuardrailsSection(policies=[policy], default=[policy["name"]])
    policies = load_policies(section, lambda s: build_detector(s.type, s.options, models))
    return GuardrailStage(Engine(policies, section))


async def measure(
    guardrails: list[dict[str, Any]], text: str, runs: int, models: LocalModels
) -> tuple[list[float], float]:
    """Wall milliseconds of each run, and the mean CPU milliseconds."""
    stage = stage_of({"name": "p", "input": guardrails}, models)
    timings = []
    cpu = 0.0
    for index in range(runs + 2):
        content = f"{text} (run {index})"  # a new text each run: the detectors' memo must not answer
        body = {"model": "m", "messages": [{"role": "user", "content": content}]}
        ctx = RequestContext(request_id=f"r{index}", endpoint="chat", body=body, model="m")
        started, started_cpu = time.perf_counter(), time.process_time()
        await stage.before(ctx)
        if index >= 2:  # the first two warm caches (and load the model)
            timings.append((time.perf_counter() - started) * 1000)
            cpu += time.process_time() - started_cpu
    return timings, cpu / runs * 1000


#: bench/features.py's policy, and each of its guardrails alone.
FEATURES_POLICY: dict[str, Any] = {
    "name": "bench-policy",
    "input": [
        {"type": "pii", "action": "mask", "entities": ["email", "phone", "credit_card"]},
        {"type": "secrets", "action": "block"},
    ],
    "output": [{"type": "secrets", "action": "block"}],
}
SHORT_ROWS: list[tuple[str, dict[str, Any]]] = [
    ("input: pii mask (email, phone, credit_card)", {"name": "p", "input": [FEATURES_POLICY["input"][0]]}),
    ("input: secrets block", {"name": "p", "input": [FEATURES_POLICY["input"][1]]}),
    ("output: secrets block", {"name": "p", "output": FEATURES_POLICY["output"]}),
    ("features.py's whole policy", FEATURES_POLICY),
]


async def short_request(stage: GuardrailStage, index: int) -> None:
    text = f"Say hello to benchmark run {index} of thread 1."
    messages = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": text}]
    ctx = RequestContext(request_id=f"r{index}", endpoint="chat", body={"model": "m", "messages": messages}, model="m")
    await stage.before(ctx)
    choice = {"index": 0, "message": {"role": "assistant", "content": "Echo: " + text}, "finish_reason": "stop"}
    await stage.answer(ctx, orjson.dumps({"id": "c", "object": "chat.completion", "choices": [choice]}))
    await stage.after(ctx)


async def short_cpu(policy: dict[str, Any], runs: int) -> float:
    """CPU microseconds per short request through the stage with ``policy``."""
    stage = stage_of(policy, None)
    for index in range(200):
        await short_request(stage, index)
    started = time.process_time()
    for index in range(runs):
        await short_request(stage, 1000 + index)
    return (time.process_time() - started) / runs * 1e6


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--classifier-runs", type=int, default=10)
    parser.add_argument("--words", type=int, default=500)
    parser.add_argument("--short-runs", type=int, default=5000)
    args = parser.parse_args()
    text = text_of(args.words)
    models = LocalModels()
    print(f"input: {len(text.split())} words, {len(text)} characters\n")
    print("| guardrail | runs | p50 ms | p99 ms | mean ms | mean CPU ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [(name, guardrails, args.runs) for name, guardrails in ROWS]
    if args.classifier_runs:
        rows.append((*CLASSIFIER_ROW, args.classifier_runs))
    for name, guardrails, runs in rows:
        timings, cpu = await measure(guardrails, text, runs, models)
        print(
            f"| {name} | {runs} | {statistics.median(timings):.2f} | {_pct(timings, 0.99):.2f} | "
            f"{statistics.fmean(timings):.2f} | {cpu:.2f} |"
        )
    if args.short_runs:
        print(f"\nshort requests (features.py's), {args.short_runs} each\n")
        print("| guardrails | CPU µs per request |")
        print("| --- | ---: |")
        for name, policy in SHORT_ROWS:
            print(f"| {name} | {await short_cpu(policy, args.short_runs):.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
