"""The writer and the store on a real SQLite database; outages are simulated by a store that refuses to connect."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DataError, OperationalError
from support.databases import BOTH

from gateway.db import Database
from gateway.ledger import LedgerWriter, LogStore, SpillFile, WriterSettings
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


async def test_an_outage_longer_than_the_queue_loses_nothing(database: Database, tmp_path: Path) -> None:
    store = Flaky(database)
    spill = SpillFile(tmp_path / "spill.jsonl")
    writer = LedgerWriter(store, spill, FAST)
    await writer.start()
    store.down = True
    for index in range(100):  # 20 fit in memory, 80 go to the spill file
        writer.emit(record(index))
    await asyncio.sleep(0.2)
    assert writer.queued == 20 and not writer.healthy
    assert len((tmp_path / "spill.jsonl").read_bytes().splitlines()) == 80
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
    assert time.perf_counter() - started < 0.2
    await writer.aclose()  # cannot drain 1000 records at 0.5 s a batch within 1 s: the rest is spilled
    spill.close()
    with database.engine.connect() as connection:
        written = set(connection.execute(sa.text("SELECT request_id FROM request_logs")).scalars())
    spilled = set()
    SpillFile(tmp_path / "spill.jsonl").replay(lambda rs: spilled.update(r.request_id for r in rs) or 0, 100)
    assert written | spilled == {f"req_{i}" for i in range(1000)}
