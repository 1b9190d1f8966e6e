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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import json

import guardrails_data as data

from gateway.guardrails.detectors.pii import PIIDetector

TYPES = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip_address",
}
BROAD_REGIONS = ("US", "GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "AT", "AU", "BR", "IN", "CA", "IE", "SE")


def score(detector: PIIDetector, rows: list[dict[str, object]]) -> tuple[dict[str, list[int]], float]:
    """Per entity: [labelled, found, findings, right]; and ms per text."""
    counts: dict[str, list[int]] = {name: [0, 0, 0, 0] for name in TYPES.values()}
    started = time.perf_counter()
    for row in rows:
        text = str(row["full_text"])
        gold = [
            (TYPES[s["entity_type"]], s["start_position"], s["end_position"])
            for s in row["spans"]
            if s["entity_type"] in TYPES
        ]  # type: ignore[attr-defined]
        found = detector.find(text)
        for entity, start, end in gold:
            counts[entity][0] += 1
            counts[entity][1] += any(m.entity == entity and m.start < end and start < m.end for m in found)
        for m in found:
            counts[m.entity][2] += 1
            counts[m.entity][3] += any(e == m.entity and m.start < end and start < m.end for e, start, end in gold)
    return counts, (time.perf_counter() - started) * 1000 / len(rows)


def main() -> None:
    rows = json.loads((data.DATA / "synth_dataset_v2.json").read_text(encoding="utf-8"))
    print(
        f"{len(rows)} texts; "
        + ", ".join(
            f"{k}: {v}"
            for k, v in Counter(
                TYPES[s["entity_type"]] for r in rows for s in r["spans"] if s["entity_type"] in TYPES
            ).items()
        )
    )
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
        counts, ms = score(PIIDetector(regions=regions, phone_leniency=leniency), rows)
        total = [sum(c[i] for c in counts.values()) for i in range(4)]
        but_phone = [sum(c[i] for e, c in counts.items() if e != "phone") for i in range(4)]
        for entity, (labelled, found, findings, right) in [
            *counts.items(),
            ("all", total),
            ("all but phone", but_phone),
        ]:
            recall = found / labelled if labelled else 0.0
            precision = right / findings if findings else 1.0
            print(f"| {entity} | {label} | {labelled} | {recall:.3f} | {findings} | {precision:.3f} |")
        print(f"| ({ms:.3f} ms per text) | {label} | | | | |")


if __name__ == "__main__":
    main()
