"""Prompt injection and jailbreak: phrase heuristics, plus a classifier on MiniLM sentence embeddings.

The heuristics are the override and extraction phrases attacks keep using ("ignore all previous instructions",
"you are now DAN", "reveal your system prompt", and their German forms, common in public attack sets). The
classifier is a logistic-regression head on the shared all-MiniLM-L6-v2 (``gateway.localmodels``), trained by
``bench/guardrails_train_injection.py`` on public labelled data; its weights ship in this package
(``data/injection_head.npz``, 1.5 KB). MiniLM reads 256 tokens, so a long input is cut into overlapping windows of
``WINDOW_WORDS`` words and the highest score of any window counts: an injection after 300 words of harmless text
is still read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING

from gateway.guardrails.detectors.base import Match

if TYPE_CHECKING:
    import numpy as np

    from gateway.localmodels import LocalModels

WINDOW_WORDS = 150  # about 200 MiniLM tokens: inside its 256
STRIDE_WORDS = 100
HEAD_FILE = "injection_head.npz"

_VERB = r"(?:ignore|disregard|forget|skip|override|bypass|drop)"
_OLD = r"(?:previous|prior|above|preceding|earlier|former|initial|original|all|your|the|any|these|those)"
_RULES = r"(?:instructions?|prompts?|directions?|rules|guidelines|commands|orders|tasks|context|constraints)"
HEURISTICS = [
    rf"\b{_VERB}\b(?:\s+\w+){{0,3}}?\s+{_OLD}\b(?:\s+\w+){{0,2}}?\s+{_RULES}\b",
    r"\b(?:reveal|show|print|repeat|output|tell me|what (?:is|are))\b(?:\s+\w+){0,3}?\s+(?:system prompt|"
    r"initial (?:prompt|instructions)|hidden (?:prompt|instructions)|prompt texts?)\b",
    r"\byou are (?:now )?(?:dan|in developer mode|jailbroken|an? unrestricted)\b",
    r"\bdo anything now\b",
    r"\b(?:no|without any) (?:restrictions|filters|censorship|limitations)\b.{0,40}\b(?:answer|respond|act)\b",
    r"\bnew (?:instructions|task|rules)\s*:",
    r"\b(?:ignoriere|vergiss|missachte)\b(?:\s+\w+){0,4}?\s+(?:anweisungen|befehle|aufgaben|regeln|alles)\b",
    r"\b(?:oublie|ignore[sz]?)\b(?:\s+\w+){0,3}?\s+(?:instructions|consignes)\b",
]


def windows(text: str) -> list[str]:
    """``text`` as overlapping windows of at most ``WINDOW_WORDS`` words (one window for a short text)."""
    words = text.split()
    if len(words) <= WINDOW_WORDS:
        return [text] if words else []
    starts = range(0, max(1, len(words) - WINDOW_WORDS + STRIDE_WORDS), STRIDE_WORDS)
    return [" ".join(words[s : s + WINDOW_WORDS]) for s in starts]


class InjectionHead:
    """The learned head: ``score(embeddings)`` is the probability that each embedded window is an attack."""

    def __init__(self, weights: np.ndarray, bias: float, threshold: float) -> None:
        self.weights = weights
        self.bias = bias
        self.threshold = threshold  # chosen at training time for a 1% false-positive rate on benign text

    @classmethod
    def load(cls) -> InjectionHead:
        import numpy as np  # noqa: PLC0415 - numpy only when the classifier is used

        with resources.files("gateway.guardrails").joinpath("data", HEAD_FILE).open("rb") as handle:
            saved = np.load(handle)
            return cls(saved["weights"].astype(np.float32), float(saved["bias"]), float(saved["threshold"]))

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        import numpy as np  # noqa: PLC0415 - see load

        logits = embeddings @ self.weights + self.bias
        result: np.ndarray = 1.0 / (1.0 + np.exp(-logits))
        return result


class InjectionDetector:
    """``threshold``: the classifier's probability above which a text is an attack (default: the head's own, chosen
    for 1% false positives on benign training text); ``classifier: true`` adds the MiniLM classifier to the
    heuristics. It is off by default: the shipped head, trained on the small permissively licensed sets there are,
    finds more attacks but also flags long creative prompts (docs/guardrails.md has the figures)."""

    spans = False
    max_length: int | None = None

    def __init__(self, models: LocalModels | None, threshold: float | None = None, classifier: bool = False) -> None:
        # One search for all the heuristics. They are written in lower case and match case-insensitively; on ASCII
        # text that is the same as matching the lowercased text case-sensitively, which is five times faster.
        either = "|".join(f"(?:{pattern})" for pattern in HEURISTICS)
        self._lowered = re.compile(either)
        self._folded = re.compile(either, re.IGNORECASE)
        self._models = models if classifier else None
        self._threshold = threshold
        self._head: InjectionHead | None = None

    @property
    def uses_classifier(self) -> bool:
        return self._models is not None

    def heuristic(self, text: str) -> bool:
        if text.isascii():
            return self._lowered.search(text.lower()) is not None
        return self._folded.search(text) is not None

    async def scan(self, texts: Sequence[str]) -> list[list[Match]]:
        out: list[list[Match]] = [[] for _ in texts]
        pending: list[int] = []
        for index, text in enumerate(texts):
            if self.heuristic(text):
                out[index] = [Match("prompt_injection", whole=True)]
            elif text.strip():
                pending.append(index)
        if pending and self._models is not None:
            scores = await self.classify([texts[i] for i in pending])
            threshold = self._threshold if self._threshold is not None else self._head_threshold()
            for index, score in zip(pending, scores, strict=True):
                if score >= threshold:
                    out[index] = [Match("prompt_injection", score=score, whole=True)]
        return out

    def _head_threshold(self) -> float:
        return self._head.threshold if self._head is not None else 0.5

    async def classify(self, texts: Sequence[str]) -> list[float]:
        """The classifier's highest window score for each text (in a worker thread: it is CPU for milliseconds)."""
        if self._models is None:
            return [0.0 for _ in texts]
        model = await self._models.minilm()
        if self._head is None:
            self._head = await asyncio.to_thread(InjectionHead.load)
        head = self._head
        pieces = [windows(text) for text in texts]
        flat = [w for group in pieces for w in group]

        def run() -> list[float]:
            scores = head.score(model.encode(flat)).tolist() if flat else []
            best, at = [], 0
            for group in pieces:
                best.append(max(scores[at : at + len(group)], default=0.0))
                at += len(group)
            return best

        return await asyncio.to_thread(run)
