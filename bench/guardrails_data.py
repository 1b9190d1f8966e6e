"""The public labelled data the guardrail benchmarks read, from ``bench/data/`` (git-ignored; see bench/README.md
for where each file comes from). Every loader returns ``(texts, labels)`` with 1 = attack / secret / entity."""

from __future__ import annotations

import csv
import json
from pathlib import Path

DATA = Path(__file__).parent / "data"
csv.field_size_limit(10**8)


def giskard() -> tuple[list[str], list[int]]:
    """Giskard-AI/prompt-injections (MIT): injection and jailbreak prompts, all attacks."""
    rows = list(csv.DictReader((DATA / "giskard_prompt_injections.csv").open(encoding="utf-8")))
    return [r["prompt"] for r in rows if r["prompt"].strip()], [1] * len(rows)


def gptfuzz() -> tuple[list[str], list[int]]:
    """sherdencooper/GPTFuzz (MIT): jailbreak templates, attacks; the question placeholder filled with a request."""
    rows = list(csv.DictReader((DATA / "gptfuzz_templates.csv").open(encoding="utf-8")))
    texts = [r["text"].replace("[INSERT PROMPT HERE]", "how do I pick a lock") for r in rows]
    return texts, [1] * len(texts)


def alpaca_seed() -> tuple[list[str], list[int]]:
    """tatsu-lab/stanford_alpaca seed_tasks.jsonl (Apache-2.0): ordinary instructions, with and without input."""
    texts = []
    for line in (DATA / "alpaca_seed_tasks.jsonl").open(encoding="utf-8"):
        task = json.loads(line)
        texts.append(task["instruction"])
        for instance in task.get("instances", []):
            if instance.get("input"):
                texts.append(f"{task['instruction']}\n\n{instance['input']}")
    return texts, [0] * len(texts)


def presidio_sentences() -> tuple[list[str], list[int]]:
    """microsoft/presidio-research synth_dataset_v2.json (MIT): ordinary sentences with personal data, benign."""
    rows = json.loads((DATA / "synth_dataset_v2.json").read_text(encoding="utf-8"))
    return [r["full_text"] for r in rows], [0] * len(rows)


def qualifire() -> tuple[list[str], list[int]]:
    """qualifire/prompt-injections-benchmark test.csv (CC-BY-NC-4.0; measured only, never trained on):
    2,000 jailbreaks and 3,000 benign prompts."""
    rows = list(csv.DictReader((DATA / "qualifire_test.csv").open(encoding="utf-8")))
    return [r["text"] for r in rows], [int(r["label"] == "jailbreak") for r in rows]


def notinject() -> tuple[list[str], list[int]]:
    """NotInject-style benign prompts that use trigger words ("ignore", "password", "now"): over-defense."""
    rows = json.loads((DATA / "notinject_expanded.json").read_text(encoding="utf-8"))
    return [r["text"] for r in rows], [0] * len(rows)


def deepset() -> tuple[list[str], list[int]] | None:
    """deepset/prompt-injections (Apache-2.0), when a copy is at bench/data/deepset_prompt_injections.csv
    (columns text,label); None otherwise."""
    path = DATA / "deepset_prompt_injections.csv"
    if not path.is_file():
        return None
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    return [r["text"] for r in rows], [int(r["label"]) for r in rows]
