"""Presidio's pattern recognizers on the same data as ``guardrails_pii.py``, for the choice between the two.

Presidio (presidio-analyzer) pulls in spaCy, so it runs from a virtualenv of its own, never the gateway's:

    python3 -m venv /tmp/presidio-venv && /tmp/presidio-venv/bin/pip install presidio-analyzer==2.2.366
    /tmp/presidio-venv/bin/python bench/guardrails_presidio.py

Only its pattern recognizers run (no spaCy model, no NLP artifacts: offline, as the gateway would have to run it),
each asked for its own entity; a result counts at any score, and again at score >= 0.5.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from guardrails_pii import TYPES, Finder, rows, score, table
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UsSsnRecognizer,
)

RECOGNIZERS: list[Any] = [
    EmailRecognizer(),
    PhoneRecognizer(),
    CreditCardRecognizer(),
    IbanRecognizer(),
    UsSsnRecognizer(),
    IpRecognizer(),
]


def finder(minimum: float) -> Finder:
    def find(text: str) -> list[tuple[str, int, int]]:
        found = []
        for recognizer in RECOGNIZERS:
            for result in recognizer.analyze(text, recognizer.supported_entities, None):
                if result.score >= minimum and result.entity_type in TYPES:
                    found.append((TYPES[result.entity_type], result.start, result.end))
        return found

    return find


def main() -> None:
    texts = rows()
    print("| entity | setting | labelled | recall | findings | precision |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for label, minimum in (("presidio patterns, any score", 0.0), ("presidio patterns, score >= 0.5", 0.5)):
        counts, ms = score(finder(minimum), texts)
        print("\n".join(table(label, counts, ms)))


if __name__ == "__main__":
    main()
