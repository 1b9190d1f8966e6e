"""Train the prompt-injection head on MiniLM embeddings, and measure the injection guardrail on public data.

    .venv/bin/python bench/guardrails_injection.py --train      # writes gateway/guardrails/data/injection_head.npz
    .venv/bin/python bench/guardrails_injection.py              # detection and false-positive rates (Markdown)

Training data (permissive licences only, since the weights ship in the package): attacks from Giskard-AI's
prompt-injections and GPTFuzz's jailbreak templates, and the same attacks' opening sentences hidden inside long
benign text (indirect injection, and the reason the detector reads every window); benign text from Stanford
Alpaca's seed tasks and Presidio's synthetic sentences, alone and joined into long passages (so that length alone
does not mean "attack"). Measured on: qualifire's prompt-injections benchmark (a sample; CC-BY-NC, never trained
on), NotInject-style benign prompts full of trigger words, and deepset/prompt-injections when a copy is in
bench/data/. Embeddings are cached in bench/data/embeddings.npz (MiniLM on numpy takes ~0.3 s per window here).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
import guardrails_data as data

from gateway.guardrails.detectors.injection import WINDOW_WORDS, InjectionDetector, windows
from gateway.localmodels import LocalModels
from gateway.localmodels.minilm import MiniLM

HEAD = Path(__file__).parents[1] / "gateway" / "guardrails" / "data" / "injection_head.npz"
CACHE = data.DATA / "embeddings.npz"
SEED = 7
TARGET_FPR = 0.01  # the threshold shipped: the score that keeps training false positives at or below this


class Embedder:
    """MiniLM window embeddings, cached on disk by the window's hash."""

    def __init__(self) -> None:
        self.model = MiniLM()
        self.cache: dict[str, np.ndarray] = {}
        if CACHE.is_file():
            saved = np.load(CACHE)
            self.cache = {key: saved[key] for key in saved.files}

    def windows(self, texts: list[str]) -> list[np.ndarray]:
        """One (n_windows, 384) array per text."""
        todo = sorted({w for t in texts for w in windows(t) if _key(w) not in self.cache}, key=len)  # little padding
        for start in range(0, len(todo), 16):
            batch = todo[start : start + 16]
            for window, vector in zip(batch, self.model.encode(batch), strict=True):
                self.cache[_key(window)] = vector
            print(f"  embedded {min(start + 16, len(todo))}/{len(todo)} windows", file=sys.stderr)
        if todo:
            np.savez(CACHE, **self.cache)
        return [np.stack([self.cache[_key(w)] for w in windows(t)] or [np.zeros(384, np.float32)]) for t in texts]


def _key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def training_set(rng: random.Random) -> tuple[list[str], list[int]]:
    attacks = data.giskard()[0] + data.gptfuzz()[0]
    benign = data.alpaca_seed()[0] + data.presidio_sentences()[0]
    sentences = data.presidio_sentences()[0]
    passages = [" ".join(rng.sample(sentences, rng.randint(8, 16))) for _ in range(40)]
    openings = [a.split("\n")[0][:400] for a in attacks]
    hidden = []
    for passage in rng.sample(passages, 30):
        words = passage.split()
        at = rng.randint(0, len(words))
        hidden.append(" ".join([*words[:at], rng.choice(openings), *words[at:]]))
    attacks = [" ".join(a.split()[:WINDOW_WORDS]) for a in attacks]  # one window each: MiniLM is slow here
    texts = attacks + hidden + benign + passages
    return texts, [1] * (len(attacks) + len(hidden)) + [0] * (len(benign) + len(passages))


def fit(
    x: np.ndarray, y: np.ndarray, l2: float = 1e-3, steps: int = 3000, rate: float = 0.5
) -> tuple[np.ndarray, float]:
    """Logistic regression by gradient descent, classes weighted to balance."""
    weights = np.zeros(x.shape[1], np.float64)
    bias = 0.0
    balance = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ weights + bias)))
        error = (p - y) * balance
        weights -= rate * (x.T @ error / len(y) + l2 * weights)
        bias -= rate * error.mean()
    return weights, bias


def train() -> None:
    rng = random.Random(SEED)
    texts, labels = training_set(rng)
    embedder = Embedder()
    per_text = embedder.windows(texts)
    # Each window of an attack text is not an attack (a long jailbreak's window may be plain story): train on the
    # text's mean window for whole attacks and on every window for benign text, and score by the best window.
    x = np.stack([w.mean(axis=0) for w in per_text])
    y = np.array(labels, np.float64)
    weights, bias = fit(x, y)
    benign_scores = np.concatenate(
        [1 / (1 + np.exp(-(w @ weights + bias))) for w, label in zip(per_text, labels, strict=True) if not label]
    )
    threshold = float(np.quantile(benign_scores, 1 - TARGET_FPR))
    HEAD.parent.mkdir(parents=True, exist_ok=True)
    np.savez(HEAD, weights=weights.astype(np.float32), bias=np.float32(bias), threshold=np.float32(threshold))
    print(f"trained on {len(texts)} texts ({int(y.sum())} attacks); threshold {threshold:.3f}; wrote {HEAD}")


def evaluate(sample: int) -> None:
    rng = random.Random(SEED)
    print("| data set | texts | attacks | detector | detection (recall) | false positives (of benign) | precision |")
    print("| --- | ---: | ---: | --- | ---: | ---: | ---: |")
    sets: list[tuple[str, list[str], list[int]]] = []
    texts, labels = data.qualifire()
    print(_row("qualifire prompt-injections-benchmark (all)", "heuristics", labels, asyncio.run(_heuristics(texts))))
    picked = rng.sample(range(len(texts)), min(sample, len(texts)))
    sets.append(
        (
            f"qualifire prompt-injections-benchmark (random {len(picked)} of {len(texts)})",
            [texts[i] for i in picked],
            [labels[i] for i in picked],
        )
    )
    texts, labels = data.notinject()
    texts = rng.sample(texts, min(sample, len(texts)))
    labels = [0] * len(texts)
    sets.append(("NotInject-style benign prompts with trigger words", texts, labels))
    if (found := data.deepset()) is not None:
        sets.append(("deepset/prompt-injections", *found))
    for name, texts, labels in sets:
        for label, predict in (("heuristics", _heuristics), ("heuristics + classifier", _with_classifier)):
            started = time.perf_counter()
            flagged = asyncio.run(predict(texts))
            print(_row(name, label, labels, flagged), f"<!-- {time.perf_counter() - started:.0f} s -->")


async def _heuristics(texts: list[str]) -> list[bool]:
    detector = InjectionDetector(None, classifier=False)
    return [bool(m) for m in await _scan(detector, texts)]


async def _with_classifier(texts: list[str]) -> list[bool]:
    detector = InjectionDetector(LocalModels(), classifier=True)
    return [bool(m) for m in await _scan(detector, texts)]


async def _scan(detector: InjectionDetector, texts: list[str]) -> list[list[object]]:
    out: list[list[object]] = []
    for start in range(0, len(texts), 32):
        out += await detector.scan(texts[start : start + 32])
    return out


def sweep(sample: int) -> None:
    """Recall and false positives of heuristics + classifier at several thresholds, on one qualifire sample."""
    rng = random.Random(SEED)
    texts, labels = data.qualifire()
    picked = rng.sample(range(len(texts)), min(sample, len(texts)))
    texts, labels = [texts[i] for i in picked], [labels[i] for i in picked]
    detector = InjectionDetector(LocalModels(), classifier=True)
    scores: list[float] = []
    for start in range(0, len(texts), 32):
        scores += asyncio.run(detector.classify(texts[start : start + 32]))
    heuristic = [detector.heuristic(t) for t in texts]
    print("| threshold | detection (recall) | false positives (of benign) | precision |")
    print("| ---: | ---: | ---: | ---: |")
    for threshold in (0.5, 0.589, 0.7, 0.8, 0.9, 0.95, 0.98):
        flagged = [h or s >= threshold for h, s in zip(heuristic, scores, strict=True)]
        cells = _row("", "", labels, flagged).split(" | ")[-3:]
        print(f"| {threshold} | " + " | ".join(cells))


def _row(name: str, detector: str, labels: list[int], flagged: list[bool]) -> str:
    attacks = sum(labels)
    benign = len(labels) - attacks
    hits = sum(1 for label, f in zip(labels, flagged, strict=True) if label and f)
    false = sum(1 for label, f in zip(labels, flagged, strict=True) if not label and f)
    recall = f"{hits / attacks:.3f}" if attacks else "-"
    fpr = f"{false / benign:.3f} ({false})" if benign else "-"
    precision = f"{hits / (hits + false):.3f}" if hits + false else "-"
    return f"| {name} | {len(labels)} | {attacks} | {detector} | {recall} | {fpr} | {precision} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", action="store_true", help="train the head and write it into the package")
    parser.add_argument("--sample", type=int, default=300, help="qualifire texts measured (MiniLM is slow here)")
    parser.add_argument("--sweep", action="store_true", help="the classifier's trade-off at several thresholds")
    args = parser.parse_args()
    if args.train:
        train()
    elif args.sweep:
        sweep(args.sample)
    else:
        evaluate(args.sample)


if __name__ == "__main__":
    main()
