"""Unit tests of the spill file: append, replay, and keeping lines that arrive during a replay."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

from gateway.ledger.spill import SpillFile, encode
from gateway.pipeline.records import RequestRecord


def record(index: int) -> RequestRecord:
    return RequestRecord(request_id=f"req_{index}", created_at=time.time(), endpoint="chat", model="m", status=200,
                         latency_ms=1.0, stream=False, tags=["t"], metadata={"k": index})


class Sink:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def __call__(self, records: Sequence[RequestRecord]) -> int:
        self.batches.append([r.request_id for r in records])
        return len(records)

    @property
    def ids(self) -> list[str]:
        return [i for batch in self.batches for i in batch]


def test_replay_hands_back_every_record_in_batches_then_empties_the_file(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([record(i) for i in range(5)])
    spill.append([record(5)])
    sink = Sink()
    assert spill.replay(sink, batch_size=4) == 6
    assert sink.batches == [["req_0", "req_1", "req_2", "req_3"], ["req_4", "req_5"]]
    assert (tmp_path / "spill.jsonl").stat().st_size == 0
    assert not spill.pending()


def test_lines_appended_during_a_replay_are_kept_for_the_next_one(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([record(1), record(2)])
    sink = Sink()

    def write_while_appending(records: Sequence[RequestRecord]) -> int:
        spill.append([record(99)])  # arrives while the first lines are being written
        return sink(records)

    spill.replay(write_while_appending, batch_size=10)
    assert sink.ids == ["req_1", "req_2"]
    assert spill.pending()
    again = Sink()
    spill.replay(again, batch_size=10)
    assert again.ids == ["req_99"]


def test_a_failed_write_leaves_every_line_in_place(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([record(i) for i in range(3)])

    def down(records: Sequence[RequestRecord]) -> int:
        raise ConnectionError("database unreachable")

    with contextlib.suppress(ConnectionError):
        spill.replay(down, batch_size=2)
    sink = Sink()
    spill.replay(sink, batch_size=10)
    assert sink.ids == ["req_0", "req_1", "req_2"]


def test_a_half_written_line_is_skipped_and_the_rest_replayed(tmp_path: Path) -> None:
    path = tmp_path / "spill.jsonl"
    path.write_bytes(encode([record(1)]) + b'{"request_id": "req_broken", "crea\n' + encode([record(2)]))
    sink = Sink()
    SpillFile(path).replay(sink, batch_size=10)
    assert sink.ids == ["req_1", "req_2"]


def test_a_second_writer_on_the_same_path_uses_its_own_file_and_orphans_are_replayed(tmp_path: Path) -> None:
    first, second = SpillFile(tmp_path / "spill.jsonl"), SpillFile(tmp_path / "spill.jsonl")
    first.append([record(1)])
    second.append([record(2)])  # the path is locked by `first`: `second` writes next to it
    assert second.path == tmp_path / f"spill.{os.getpid()}.jsonl"
    second.close()  # as if that process had died: its file is an orphan now
    sink = Sink()
    first.replay(sink, batch_size=10)
    assert sorted(sink.ids) == ["req_1", "req_2"]
    assert not (tmp_path / f"spill.{os.getpid()}.jsonl").exists()


def test_records_survive_the_round_trip_unchanged(tmp_path: Path) -> None:
    spill = SpillFile(tmp_path / "spill.jsonl")
    original = record(7)
    original.request_body, original.cost_usd = '{"messages": []}', 1.5e-6
    spill.append([original])
    seen: list[RequestRecord] = []
    spill.replay(lambda records: seen.extend(records) or len(records), batch_size=1)
    assert seen == [original]
