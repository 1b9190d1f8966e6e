"""The second-stage check: a semantic hit is served only when the two requests also agree on what an embedding
blurs. Sentence embeddings place "flights from Paris to Rome" next to "flights from Rome to Paris", "is 7 prime"
next to "is 9 prime" and "can I" next to "can I not"; a bare similarity threshold serves those as hits.

Each check compares one feature of the two texts; a hit needs every enabled check to agree (``disagreement``
returns the first that does not). What each check buys is measured in ``bench/cache_quality.py`` (see
docs/caching.md): the numbers, negation, entity, quote and order checks are on by default, and the swap check,
which catches word swaps ("the wife of A and the sister of B" / "the wife of B and the sister of A"), too.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

CHECKS = ("numbers", "negation", "entities", "quotes", "order", "swap")
_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\u2019\-]*|\d+(?:[.,:/]\d+)*")
_QUOTED = re.compile(r"\"([^\"]+)\"|\u201c([^\u201d]+)\u201d|`([^`]+)`|(?:^|\s)'([^']+)'(?=[\s.,;:?!]|$)")
_SENTENCE_END = re.compile(r"[.?!]\s*$")
_NEGATIONS = frozenset({
    "not", "no", "never", "none", "nobody", "nothing", "nowhere", "neither", "nor", "without", "cannot", "cant",
    "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "wont", "wouldnt", "shouldnt", "couldnt",
    "hasnt", "havent", "hadnt", "aint",
})
# Words that carry no content of their own: leaving them out keeps "is it important to learn math" and "is math
# important to learn" comparable on the words that matter.
_FUNCTION_WORDS = frozenset({
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "from", "by", "with", "and", "or", "but", "is", "are",
    "was", "were", "be", "been", "being", "as", "that", "this", "these", "those", "it", "its", "his", "her", "their",
    "he", "she", "they", "we", "you", "i", "which", "who", "whom", "whose", "what", "when", "where", "why", "how",
    "than", "then", "also", "into", "over", "under", "about", "after", "before", "during", "while", "do", "does",
    "did", "can", "could", "should", "would", "will",
})
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        (
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
            "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
            "twenty",
        )
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80",
     "ninety": "90", "hundred": "100", "thousand": "1000", "million": "1000000", "billion": "1000000000",
     "first": "1", "second": "2", "third": "3", "half": "0.5", "dozen": "12"}


@dataclass(frozen=True, slots=True)
class Features:
    numbers: frozenset[str]
    negated: bool
    entities: tuple[str, ...]  # in order of first appearance, lower-cased
    quotes: frozenset[str]
    words: tuple[str, ...]  # the content words in order, lower-cased


def features(text: str) -> Features:
    tokens = [(m.group(0), m.start()) for m in _TOKEN.finditer(text)]
    numbers = frozenset(number for word, _ in tokens if (number := _number(word)) is not None)
    negated = any(_plain(word) in _NEGATIONS or (_plain(word).endswith("nt") and "'" in word) for word, _ in tokens)
    entities: list[str] = []
    for position, (word, start) in enumerate(tokens):
        if _is_entity(word, position, text[:start]) and word.lower() not in entities:
            entities.append(word.lower())
    quotes = frozenset(next(g for g in m.groups() if g).strip().lower() for m in _QUOTED.finditer(text))
    words = tuple(lowered for word, _ in tokens if (lowered := word.lower()) not in _FUNCTION_WORDS)
    return Features(numbers, negated, tuple(entities), quotes, words)


def disagreement(a: Features, b: Features, checks: Sequence[str] = CHECKS) -> str | None:
    """The first check on which ``a`` and ``b`` disagree, or None when they agree on all of ``checks``."""
    for check in checks:
        if not _agree(check, a, b):
            return check
    return None


def _agree(check: str, a: Features, b: Features) -> bool:
    if check == "numbers":
        return a.numbers == b.numbers
    if check == "negation":
        return a.negated == b.negated
    if check == "entities":
        return set(a.entities) == set(b.entities)
    if check == "quotes":
        return a.quotes == b.quotes
    if check == "order":  # the entities both name come in the same order ("from Paris to Rome" vs "to Paris")
        common = set(a.entities) & set(b.entities)
        return [e for e in a.entities if e in common] == [e for e in b.entities if e in common]
    if check == "swap":
        return _same_order(a.words, b.words)
    raise ValueError(f"unknown check {check!r}; known: {CHECKS}")


def _same_order(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Whether the content words both texts use once come in the same order. Swapping two words keeps an embedding
    (nearly) where it was and changes the meaning; a paraphrase that moves a word ("is math important to learn" /
    "is it important to learn math") is a miss here, the price of catching the swaps."""
    shared = {w for w in a if a.count(w) == 1} & {w for w in b if b.count(w) == 1}
    return [w for w in a if w in shared] == [w for w in b if w in shared]


def _plain(word: str) -> str:
    return word.lower().replace("'", "").replace("\u2019", "")


def _number(word: str) -> str | None:
    if word[0].isdigit():
        return word.replace(",", "")
    return _NUMBER_WORDS.get(word.lower())


def _is_entity(word: str, position: int, before: str) -> bool:
    """A capitalised word that does not start a sentence, an acronym, or a single capital letter ("plan B")."""
    if not word[0].isupper() or word == "I" or word[0].isdigit():
        return False
    if len(word) > 1 and word.isupper():
        return True
    starts_sentence = position == 0 or bool(_SENTENCE_END.search(before))
    return not starts_sentence
