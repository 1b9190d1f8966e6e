"""How often a semantic cache hit is wrong: the bare threshold, each second-stage check, and the adaptive mode.

Run ``.venv/bin/python bench/cache_quality.py bench/data/<file> [--format mrpc|bimpm|paws]`` (see
``bench/README.md`` for where the public data comes from; it is never committed). A script, not a test: it prints
Markdown tables for docs/caching.md.

Method: every labelled pair (a, b) is one cache lookup: a is the stored request, b the new one. A *hit* is a pair
whose MiniLM cosine similarity reaches the threshold and whose checks agree; a hit is *wrong* when the pair is
labelled "not the same meaning" (its cached answer would answer another question). Reported: the wrong share of
hits with its 95 % Wilson interval, the hit rate (hits / pairs) and the share of true paraphrases served
(recall). The adaptive rows replay the pairs in a shuffled order through ``gateway.cache.adaptive``: a would-be
hit is served only under the learned threshold, else explored with probability 0.1 (its label is then what the
answer comparison would have found).
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gateway.cache.adaptive import Evidence, decide, wilson_upper
from gateway.cache.checks import CHECKS, Features, disagreement, features
from gateway.localmodels.minilm import MiniLM

THRESHOLDS = (0.80, 0.85, 0.90, 0.92, 0.95, 0.97)
DEFAULT_THRESHOLD = 0.92
LADDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("bare threshold", ()),
    ("+ numbers", ("numbers",)),
    ("+ negation", ("numbers", "negation")),
    ("+ entities", ("numbers", "negation", "entities")),
    ("+ quotes", ("numbers", "negation", "entities", "quotes")),
    ("+ order", ("numbers", "negation", "entities", "quotes", "order")),
    ("+ swap (default)", CHECKS),
)


@dataclass(frozen=True, slots=True)
class Pair:
    stored: str
    asked: str
    same: bool


def load(path: Path, kind: str) -> list[Pair]:
    """MRPC (quality, id, id, s1, s2), BiMPM's QQP split (label, q1, q2, id), PAWS (id, s1, s2, label)."""
    columns = {"mrpc": (3, 4, 0), "bimpm": (1, 2, 0), "paws": (1, 2, 3)}[kind]
    pairs = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            a, b, label = (row[i] if i < len(row) else "" for i in columns)
            if label.strip() in ("0", "1") and a.strip() and b.strip():
                pairs.append(Pair(a, b, label.strip() == "1"))
    return pairs


def embed(model: MiniLM, texts: Sequence[str], batch: int = 32) -> np.ndarray:
    return np.concatenate([model.encode(list(texts[i : i + batch])) for i in range(0, len(texts), batch)])


def vectors(data: Path, pairs: list[Pair]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs' embeddings, kept beside the data (``<file>.minilm.npz``): embedding is the slow part."""
    kept = data.with_suffix(data.suffix + ".minilm.npz")
    if kept.exists():
        saved = np.load(kept)
        if len(saved["a"]) == len(pairs):
            return saved["a"], saved["b"]
    model = MiniLM()
    a, b = embed(model, [p.stored for p in pairs]), embed(model, [p.asked for p in pairs])
    np.savez(kept, a=a, b=b)
    return a, b


def share(errors: int, total: int) -> str:
    if total == 0:
        return "- (no hits)"
    low = 1 - wilson_upper(total - errors, total)
    return f"{100 * errors / total:.1f} % [{100 * low:.1f}-{100 * wilson_upper(errors, total):.1f}]"


def row(name: str, hits: list[bool], pairs: list[Pair]) -> str:
    served = [p for p, hit in zip(pairs, hits, strict=True) if hit]
    wrong = sum(not p.same for p in served)
    positives = sum(p.same for p in pairs) or 1
    recall = sum(p.same for p in served) / positives
    return (f"| {name} | {share(wrong, len(served))} | {100 * len(served) / len(pairs):.1f} % | "
            f"{100 * recall:.1f} % | {len(served)} |")


def static_hits(sims: np.ndarray, feats: list[tuple[Features, Features]], threshold: float,
                checks: tuple[str, ...]) -> list[bool]:
    return [bool(s >= threshold) and disagreement(a, b, checks) is None
            for s, (a, b) in zip(sims, feats, strict=True)]


def adaptive_hits(sims: np.ndarray, feats: list[tuple[Features, Features]], pairs: list[Pair], delta: float,
                  floor: float, explore: float, replays: int, seed: int = 7) -> tuple[list[bool], list[Pair], int]:
    """A stream of lookups (every pair ``replays`` times, shuffled: questions recur, as in a cache's traffic):
    whether each was served, the lookups, and how many were explored (sent upstream to learn)."""
    rng = random.Random(seed)
    order = list(range(len(pairs))) * replays
    rng.shuffle(order)
    pool, empty = Evidence(delta), Evidence(delta)
    hits = [False] * len(order)
    explored = 0
    for n, i in enumerate(order):
        if sims[i] < floor or disagreement(*feats[i]) is not None:
            continue
        decision = decide(float(sims[i]), (empty, pool, pool), explore, rng)
        if decision == "hit":
            hits[n] = True
        elif decision == "explore":
            explored += 1
            pool.add(float(sims[i]), pairs[i].same)
    return hits, [pairs[i] for i in order], explored


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--format", choices=("mrpc", "bimpm", "paws"), default="mrpc")
    parser.add_argument("--name", default=None, help="the data set's name in the tables")
    parser.add_argument("--replays", type=int, default=20, help="adaptive mode: times each pair recurs")
    args = parser.parse_args()
    pairs = load(args.data, args.format)
    name = args.name or args.data.name
    started = time.perf_counter()
    a, b = vectors(args.data, pairs)
    sims = (a * b).sum(axis=1)
    feats = [(features(p.stored), features(p.asked)) for p in pairs]
    print(f"{name}: {len(pairs)} pairs, {sum(p.same for p in pairs)} paraphrases; embedded in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    header = ("| checks | wrong share of hits [95 % CI] | hit rate | paraphrases served | hits |\n"
              "| --- | --- | --- | --- | --- |")
    print(f"\n### {name}: at the default threshold {DEFAULT_THRESHOLD}\n\n{header}")
    for label, checks in LADDER:
        print(row(label, static_hits(sims, feats, DEFAULT_THRESHOLD, checks), pairs))
    print(f"\n### {name}: threshold sweep, bare vs all checks\n\n"
          "| threshold | bare: wrong share | bare: hit rate | checked: wrong share | checked: hit rate |\n"
          "| --- | --- | --- | --- | --- |")
    for threshold in THRESHOLDS:
        bare = row("", static_hits(sims, feats, threshold, ()), pairs).split(" | ")
        checked = row("", static_hits(sims, feats, threshold, CHECKS), pairs).split(" | ")
        print(f"| {threshold:.2f} | {bare[1]} | {bare[2]} | {checked[1]} | {checked[2]} |")
    print(f"\n### {name}: adaptive mode (floor 0.80, all checks, explore rate 0.1, every pair looked up "
          f"{args.replays} times)\n\n"
          "| δ | wrong share of served hits [95 % CI] | hit rate | paraphrases served | hits | explored |\n"
          "| --- | --- | --- | --- | --- | --- |")
    for delta in (0.02, 0.05, 0.10, 0.15, 0.20):
        hits, stream, explored = adaptive_hits(sims, feats, pairs, delta, 0.80, 0.1, args.replays)
        print(row(f"{delta:.2f}", hits, stream) + f" {explored} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
