"""Detection and precision of the PII guardrail on microsoft/presidio-research's synth_dataset_v2.json.

    .venv/bin/python bench/guardrails_pii.py          # Markdown table per entity type, for two phone settings

A labelled span counts as found when a finding of the same type overlaps it; a finding counts as right when it
overlaps a labelled span of its type. The data labels only some types (persons, addresses... are not claimed by
the gateway and not scored); a finding on text the data did not label as that type counts as a false positive.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import json

import guardrails_data as data

TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip_address",
}
BROAD_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "AU", "BR", "IN", "CA", "IE", "SE")


Finder = Callable[[str], list[tuple[str, int, int]]]


def score(find: Finder, rows: list[dict[str, object]]) -> tuple[dict[str, list[int]], float]:
    """Per entity: [labelled, found, findings, right]; and ms per text. ``find`` gives (entity, start, end)."""
    counts: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in TYPES.values()}
    started = time.perf_counter()
    for row in rows:
        text = str(row["full_text"])
        gold = [
            (TYPES[s["entity_type"]], s["start_position"], s["end_position"])
            for s in row["spans"]  # type: ignore[attr-defined]
            if s["entity_type"] in TYPES
        ]
        found = find(text)
        for entity, start, end in gold:
            counts[entity][0] += 1
            counts[entity][1] += any(e == entity and s < end and start < x for e, s, x in found)
        for e, s, x in found:
            counts[e][2] += 1
            counts[e][3] += any(g == e and s < end and start < x for g, start, end in gold)
    return counts, (time.perf_counter() - started) * 1000 / len(rows)


def table(label: str, counts: dict[str, list[int]], ms: float) -> list[str]:
    total = [sum(c[i] for c in counts.values()) for i in range(4)]
    but_phone = [sum(c[i] for e, c in counts.items() if e != "phone") for i in range(4)]
    lines = []
    for entity, (labelled, found, findings, right) in [*counts.items(), ("all", total), ("all but phone", but_phone)]:
        recall = found / labelled if labelled else 0.0
        precision = right / findings if findings else 1.0
        lines.append(f"| {entity} | {label} | {labelled} | {recall:.3f} | {findings} | {precision:.3f} |")
    lines.append(f"| ({ms:.3f} ms per text) | {label} | | | | |")
    return lines


def rows() -> list[dict[str, object]]:
    loaded: list[dict[str, object]] = json.loads((data.DATA / "synth_dataset_v2.json").read_text(encoding="utf-8"))
    return loaded


def main() -> None:
    from gateway.guardrails.detectors.pii import PIIDetector  # noqa: PLC0415 - guardrails_presidio.py reuses this file

    texts = rows()
    labelled = Counter(TYPES[s["entity_type"]] for r in texts for s in r["spans"] if s["entity_type"] in TYPES)  # type: ignore[attr-defined]
    print(f"{len(texts)} texts; " + ", ".join(f"{k}: {v}" for k, v in labelled.items()))
    print()
    print("| entity | phone setting | labelled | recall | findings | precision |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    settings = (
        ("US, valid (default)", ("US",), "valid"),
        (f"{len(BROAD_REGIONS)} regions, valid", BROAD_REGIONS, "valid"),
        ("US, possible", ("US",), "possible"),
        (f"{len(BROAD_REGIONS)} regions, possible", BROAD_REGIONS, "possible"),
    )
    for label, regions, leniency in settings:
        counts, ms = score(_spans(PIIDetector(regions=regions, phone_leniency=leniency)), texts)
        print("\n".join(table(label, counts, ms)))


def _spans(detector: Any) -> Finder:
    return lambda text: [(m.entity, m.start, m.end) for m in detector.find(text)]


if __name__ == "__main__":
    main()
