"""The writer and the store on a real SQLite database; outages are simulated by a store that refuses to connect."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, OperationalError
from support.databases import BOTH

from gateway.db import Database
from gateway.ledger import LedgerWriter, LogStore, SpillFile, WriterSettings
from gateway.ledger.writer import BACKGROUND_NICE
from gateway.pipeline.records import RequestRecord

FAST = WriterSettings(batch_size=50, flush_interval=0.01, queue_size=20, retry_interval=0.05, drain_timeout=5)


def record(index: int, **fields: object) -> RequestRecord:
    base = RequestRecord(request_id=f"req_{index}", created_at=time.time(), endpoint="chat", model="m", status=200,
                         latency_ms=10.0, stream=False, cost_usd=0.001, prompt_tokens=10, completion_tokens=5)
    for name, value in fields.items():
        setattr(base, name, value)
    return base


class Flaky(LogStore):
    """The real store, except that while ``down`` it fails the way an unreachable database does."""

    down = False
    refuse: set[str] = set()

    def write(self, records: Sequence[RequestRecord]) -> int:
        if self.down:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        if any(r.request_id in self.refuse for r in records):
            raise DataError("INSERT", {}, ValueError("value out of range"))
        return super().write(records)

    def ping(self) -> None:
        if self.down:
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("connection refused"))
        super().ping()


def counts(database: Database) -> tuple[int, int, float]:
    """Rows in the log, requests in the roll-ups (which must equal those in the tag roll-ups), cost."""
    query = (
        "SELECT (SELECT count(*) FROM request_logs), (SELECT coalesce(sum(requests), 0) FROM daily_rollups),"
        " (SELECT coalesce(sum(cost_usd), 0) FROM daily_rollups),"
        " (SELECT coalesce(sum(requests), 0) FROM daily_tag_rollups)"
    )
    with database.engine.connect() as connection:  # one statement: one snapshot, while the writer writes
        rows, requests, cost, tagged = connection.execute(sa.text(query)).one()
    assert tagged == requests  # these records have no tags: one "" row per day, counted once
    return int(rows), int(requests), float(cost)


async def until(condition: object) -> None:
    deadline = time.monotonic() + 5.0
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_writing_the_same_records_twice_adds_them_once(database: Database) -> None:
    store = LogStore(database)
    batch = [record(i) for i in range(10)]
    assert store.write(batch) == 10
    assert store.write([*batch[5:], record(10), record(10)]) == 1  # replays and a duplicate within a batch
    rows, requests, cost = counts(database)
    assert (rows, requests) == (11, 11)
    assert cost == pytest.approx(11 * 0.001)


async def test_during_an_outage_every_record_goes_to_disk_as_it_arrives(database: Database, tmp_path: Path) -> None:
    # Memory is not where records wait out an outage: a SIGKILL or an OOM kill would lose them all.
    store = Flaky(database)
    spill = SpillFile(tmp_path / "spill.jsonl")
    writer = LedgerWriter(store, spill, FAST)
    await writer.start()
    store.down = True
    writer.emit(record(0))  # the write of this one finds the database down
    await until(lambda: not writer.healthy)
    for index in range(1, 100):
        writer.emit(record(index))
    await asyncio.sleep(0.2)
    assert writer.queued == 0
    assert len((tmp_path / "spill.jsonl").read_bytes().splitlines()) == 100
    store.down = False
    await until(lambda: counts(database)[0] == 100)
    await writer.aclose()
    assert counts(database)[:2] == (100, 100)
    assert (tmp_path / "spill.jsonl").stat().st_size == 0


async def test_closing_while_the_database_is_down_spills_the_queue_for_the_next_start(
    database: Database, tmp_path: Path
) -> None:
    store = Flaky(database)
    store.down = True
    spill = SpillFile(tmp_path / "spill.jsonl")
    writer = LedgerWriter(store, spill, FAST)
    await writer.start()
    for index in range(15):
        writer.emit(record(index))
    await writer.aclose()
    writer.emit(record(15))  # a straggler after close still lands in the spill file
    spill.close()  # the process ends here
    assert counts(database)[0] == 0
    assert len((tmp_path / "spill.jsonl").read_bytes().splitlines()) == 16

    again = LedgerWriter(LogStore(database), SpillFile(tmp_path / "spill.jsonl"), FAST)
    await again.start()  # its first job: replay the file
    await until(lambda: counts(database)[0] == 16)
    await again.aclose()
    assert counts(database)[:2] == (16, 16)


async def test_a_row_the_database_refuses_is_set_aside_without_blocking_the_rest(
    database: Database, tmp_path: Path
) -> None:
    store = Flaky(database)
    store.refuse = {"req_3"}
    writer = LedgerWriter(store, SpillFile(tmp_path / "spill.jsonl"), FAST)
    await writer.start()
    for index in range(6):
        writer.emit(record(index))
    await until(lambda: counts(database)[0] == 5)
    await writer.aclose()
    rejected = (tmp_path / "spill.rejected.jsonl").read_bytes()
    assert b'"req_3"' in rejected and rejected.count(b"\n") == 1


async def test_a_bad_row_in_a_slow_batch_is_set_aside_once_though_its_insurance_copy_replays_it(
    database: Database, tmp_path: Path
) -> None:
    class SlowFirst(Flaky):
        slow = True

        def write(self, records: Sequence[RequestRecord]) -> int:
            if self.slow and len(records) > 1:
                self.slow = False
                time.sleep(0.3)  # past spill_after: the batch is copied to the spill file while it is written
            return super().write(records)

    store = SlowFirst(database)
    store.refuse = {"req_3"}
    settings = WriterSettings(batch_size=6, flush_interval=0.01, retry_interval=0.05, spill_after=0.1)
    writer = LedgerWriter(store, SpillFile(tmp_path / "spill.jsonl"), settings)
    await writer.start()
    for index in range(6):
        writer.emit(record(index))
    await until(lambda: counts(database)[0] == 5)
    await writer.aclose()
    rejected = (tmp_path / "spill.rejected.jsonl").read_bytes()
    assert rejected.count(b"\n") == 1 and b'"req_3"' in rejected


async def test_emit_returns_at_once_even_when_the_database_hangs(database: Database, tmp_path: Path) -> None:
    class Hanging(LogStore):
        def write(self, records: Sequence[RequestRecord]) -> int:
            time.sleep(0.5)  # a database that takes its time (in the writer's thread)
            return super().write(records)

    settings = WriterSettings(batch_size=50, flush_interval=0.01, queue_size=20, drain_timeout=1)
    spill = SpillFile(tmp_path / "spill.jsonl")
    writer = LedgerWriter(Hanging(database), spill, settings)
    await writer.start()
    started = time.perf_counter()
    for index in range(1000):
        writer.emit(record(index))
    assert time.perf_counter() - started < 1.0  # 1000 emits; a write takes 0.5 s: nothing waited for it
    await writer.aclose()  # cannot drain 1000 records at 0.5 s a batch within 1 s: the rest is spilled
    spill.close()
    with database.engine.connect() as connection:
        written = set(connection.execute(sa.text("SELECT request_id FROM request_logs")).scalars())
    spilled = set()
    SpillFile(tmp_path / "spill.jsonl").replay(lambda rs: spilled.update(r.request_id for r in rs) or 0, 100)
    assert written | spilled == {f"req_{i}" for i in range(1000)}


def nested(depth: int) -> dict[str, object]:
    value: dict[str, object] = {"leaf": "x"}
    for _ in range(depth):
        value = {"a": value}
    return value


async def test_a_record_too_deep_to_serialise_neither_wedges_the_log_nor_is_lost(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # orjson serialises at most 254 levels: such a record used to be retried forever as if the database were down.
    writer = LedgerWriter(LogStore(database), SpillFile(tmp_path / "spill.jsonl"), FAST)
    await writer.start()
    writer.emit(record(0, metadata=nested(600)))
    for index in range(1, 6):
        writer.emit(record(index))
    await until(lambda: counts(database)[0] == 6)
    assert writer.healthy
    await writer.aclose()
    assert "unreachable" not in caplog.text
    assert not (tmp_path / "spill.jsonl").exists() or (tmp_path / "spill.jsonl").stat().st_size == 0


async def test_refused_rows_are_quarantined_alone_and_the_writer_stays_healthy(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Flaky(database)
    store.refuse = {"req_7", "req_30"}
    writer = LedgerWriter(store, SpillFile(tmp_path / "spill.jsonl"), FAST)
    await writer.start()
    for index in range(40):
        writer.emit(record(index, user=f"secret-user-{index}"))
    await until(lambda: counts(database)[0] == 38)
    assert writer.healthy and writer.quarantined == 2
    await writer.aclose()
    lines = (tmp_path / "spill.rejected.jsonl").read_bytes().splitlines()
    assert sorted(line.split(b'"request_id":"')[1].split(b'"')[0] for line in lines) == [b"req_30", b"req_7"]
    assert "req_7" in caplog.text and "secret-user" not in caplog.text and "out of range" not in caplog.text


async def test_a_refused_record_in_the_spill_file_does_not_block_its_replay(database: Database, tmp_path: Path) -> None:
    SpillFile(tmp_path / "spill.jsonl").append([record(index) for index in range(10)])
    store = Flaky(database)
    store.refuse = {"req_4"}
    writer = LedgerWriter(store, SpillFile(tmp_path / "spill.jsonl"), FAST)
    await writer.start()
    await until(lambda: counts(database)[0] == 9)
    writer.emit(record(10))
    await until(lambda: counts(database)[0] == 10)
    await writer.aclose()
    assert (tmp_path / "spill.jsonl").stat().st_size == 0
    assert (tmp_path / "spill.rejected.jsonl").read_bytes().count(b"\n") == 1


async def test_a_stalled_write_copies_its_records_to_disk(database: Database, tmp_path: Path) -> None:
    # A write that hangs may be a database going away: its records must not wait in memory only.
    release = asyncio.Event()
    loop = asyncio.get_running_loop()

    class Stalled(LogStore):
        def write(self, records: Sequence[RequestRecord]) -> int:
            asyncio.run_coroutine_threadsafe(release.wait(), loop).result(timeout=10)
            return super().write(records)

    settings = WriterSettings(batch_size=5, flush_interval=0.01, retry_interval=0.05, spill_after=0.1)
    writer = LedgerWriter(Stalled(database), SpillFile(tmp_path / "spill.jsonl"), settings)
    await writer.start()
    for index in range(5):
        writer.emit(record(index))
    await asyncio.sleep(0.3)
    for index in range(5, 8):
        writer.emit(record(index))  # while the write is stalled: straight to disk
    assert len((tmp_path / "spill.jsonl").read_bytes().splitlines()) == 8
    release.set()
    await until(lambda: counts(database)[0] == 8)
    await writer.aclose()
    assert counts(database)[:2] == (8, 8)  # the copies on disk were replayed without counting twice


def test_a_record_too_deep_for_json_can_still_be_spilled_and_quarantined(tmp_path: Path) -> None:
    # At shutdown with the database down such a record used to fail the whole spill: "they are lost".
    spill = SpillFile(tmp_path / "spill.jsonl")
    spill.append([record(0, metadata=nested(900)), record(1)])
    spill.reject([record(2, metadata=nested(900))])
    spill.close()
    read: list[RequestRecord] = []
    SpillFile(tmp_path / "spill.jsonl").replay(lambda rs: read.extend(rs) or 0, 10)
    assert [r.request_id for r in read] == ["req_0", "req_1"]
    assert (tmp_path / "spill.rejected.jsonl").read_bytes().count(b"\n") == 1


class ThreadRecording(LogStore):
    """The real store, noting the OS thread and the nice value each write ran with."""

    seen: list[tuple[int, int]] = []

    def write(self, records: Sequence[RequestRecord]) -> int:
        tid = threading.get_native_id()
        self.seen.append((tid, os.getpriority(os.PRIO_PROCESS, tid)))
        return super().write(records)


async def test_batches_are_written_on_one_thread_that_yields_the_core_to_the_event_loop(
    database: Database, tmp_path: Path
) -> None:
    store = ThreadRecording(database)
    writer = LedgerWriter(store, SpillFile(tmp_path / "spill.jsonl"), FAST)
    await writer.start()
    for index in range(3):
        writer.emit(record(index))
        await until(lambda index=index: counts(database)[0] == index + 1)
    await writer.aclose()
    loop_nice = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert len({tid for tid, _ in store.seen}) == 1
    assert all(nice == min(19, loop_nice + BACKGROUND_NICE) for _, nice in store.seen)  # 19: the weakest
