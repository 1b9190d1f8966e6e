"""What the request log keeps under each fault, against the running gateway (``gateway serve``), the fake provider
and a throwaway PostgreSQL database (reached through a TCP proxy the test can cut) or SQLite file.

Issue 8: a record that cannot be serialised or that the database would refuse must neither wedge the log nor be
lost (defects 2 and 8); a SIGKILL during an outage must not lose the queue, the gateway must start and serve with
the database down, and readiness must stay 200 through an outage (defect 9).
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import psycopg
import pytest
from support.servers import FakeProvider, gateway

from ledger.tcp_proxy import TcpProxy
from ledger.test_log_survives import MASTER, ledger_config, logged, send, via, wait_for_rows

pytestmark = pytest.mark.postgres
LONG_MODEL = "m" * 300  # longer than request_logs.model (255)




def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": 1}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_record_too_deep_to_serialise_does_not_wedge_the_log(fake: FakeProvider, pg: str, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    with gateway(ledger_config(fake, pg, spill), tmp_path) as server:
        with httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {MASTER}"}, timeout=10) as client:
            deep = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "metadata": nested(600)}
            client.post("/v1/chat/completions", json=deep)  # 200, 400 or 500: what matters is the log after it
        after = send(server, 20, "after")
        ids = wait_for_rows(pg, 20)[0]
        assert set(after) <= ids
        ready = httpx.get(server.url + "/health/ready", timeout=5).json()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=20)
        log = server.log()
    assert "unreachable" not in log and "lost" not in log and "could not spill" not in log
    assert not spill.exists() or spill.stat().st_size == 0
    assert ready["request_log"]["database"] == "up" and ready["request_log"]["queued"] == 0


def odd_requests(server_v1: str) -> None:
    """The requests that used to be refused by PostgreSQL: NUL in ``user``, in a tag, a 300-character model.

    The edge now cleans ``user`` (the request is served and recorded) and refuses the other two with a 400 before
    any record is made; the writer's own cleaning of every string is covered in ``test_rows``.
    """
    with openai.OpenAI(base_url=server_v1, api_key=MASTER, max_retries=0) as client:
        message = [{"role": "user", "content": "hi"}]
        client.chat.completions.create(model="gpt-4o-mini", messages=message, user="a\u0000b")  # type: ignore[arg-type]
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(
                model="gpt-4o-mini",
                messages=message,  # type: ignore[arg-type]
                extra_body={"metadata": {"tags": ["team\u0000x"], "note": "n\u0000ul"}},
            )
        with pytest.raises(openai.BadRequestError):
            client.chat.completions.create(model=LONG_MODEL, messages=message)  # type: ignore[arg-type]


def with_long_model(config: dict[str, Any]) -> dict[str, Any]:
    route = dict(config["model_list"][0], model_name=LONG_MODEL)
    return {**config, "model_list": [*config["model_list"], route]}


def test_records_with_nul_and_overlong_strings_reach_the_postgresql_log_and_rollups(
    fake: FakeProvider, pg: str, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    with gateway(with_long_model(ledger_config(fake, pg, spill)), tmp_path) as server:
        odd_requests(server.v1)
        ids, rolled = wait_for_rows(pg, 1)
    assert (len(ids), rolled) == (1, 1)
    with psycopg.connect(pg) as connection:
        users = connection.execute('SELECT "user" FROM request_logs WHERE "user" IS NOT NULL').fetchall()
        tags = connection.execute("SELECT tag FROM daily_tag_rollups WHERE tag <> ''").fetchall()
        cost = connection.execute("SELECT sum(cost_usd), max(length(model)) FROM daily_rollups").fetchone()
    assert [row[0] for row in users] == ["ab"]
    assert tags == []
    assert cost is not None and cost[0] > 0
    assert not (tmp_path / "spill.rejected.jsonl").exists()


def test_records_with_nul_and_overlong_strings_reach_the_sqlite_log(fake: FakeProvider, tmp_path: Path) -> None:
    spill = tmp_path / "spill.jsonl"
    database = tmp_path / "log.db"
    with gateway(with_long_model(ledger_config(fake, f"sqlite:///{database}", spill)), tmp_path) as server:
        odd_requests(server.v1)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with sqlite3.connect(database) as connection:
                if connection.execute("SELECT count(*) FROM request_logs").fetchone()[0] == 1:
                    break
            time.sleep(0.1)
    with sqlite3.connect(database) as connection:
        rows = connection.execute('SELECT "user", length(model) FROM request_logs ORDER BY id').fetchall()
        rolled = connection.execute("SELECT sum(requests), sum(cost_usd) FROM daily_rollups").fetchone()
    assert rows == [("ab", len("gpt-4o-mini"))]
    assert rolled[0] == 1 and rolled[1] > 0
    assert not (tmp_path / "spill.rejected.jsonl").exists()


def test_sigkill_during_a_database_outage_loses_no_record(
    fake: FakeProvider, pg: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    config = ledger_config(fake, via(proxy, pg), spill)  # default queue (10,000): memory could hold them all
    with gateway(config, tmp_path / "first") as server:
        before = send(server, 3, "before")
        wait_for_rows(pg, 3)
        proxy.stop()
        during = send(server, 40, "during")
        time.sleep(2.0)  # the documented bound: what arrived in the last second may still be in memory only
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
    proxy.start()
    with gateway(config, tmp_path / "second"):
        ids, rolled = wait_for_rows(pg, 43)
        time.sleep(0.5)
        ids, rolled = logged(pg)
    assert ids == set(before) | set(during)
    assert rolled == 43


def wait_for_migrated_rows(url: str, expected: int) -> tuple[set[str], int]:
    """``wait_for_rows`` on a database the gateway has yet to migrate."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return wait_for_rows(url, expected)
        except psycopg.errors.UndefinedTable:
            assert time.monotonic() < deadline, "the gateway never migrated the database"
            time.sleep(0.2)


def test_the_gateway_starts_serves_and_spills_with_the_database_down(
    fake: FakeProvider, pg: str, proxy: TcpProxy, tmp_path: Path
) -> None:
    spill = tmp_path / "spill.jsonl"
    proxy.stop()
    with gateway(ledger_config(fake, via(proxy, pg), spill), tmp_path) as server:
        ready = httpx.get(server.url + "/health/ready", timeout=10)
        assert ready.status_code == 200  # it serves: a load balancer must keep it in rotation
        assert ready.json()["checks"]["database"].startswith("down") and ready.json()["degraded"] == ["database"]
        assert httpx.get(server.url + "/health/dependencies", timeout=10).status_code == 503

        served = send(server, 5, "down")  # the master key works
        virtual = httpx.post(
            server.v1 + "/chat/completions",
            headers={"authorization": "Bearer sk-gw-never-loaded-0000000000000000"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert virtual.status_code == 503
        assert virtual.json()["error"]["code"] == "dependency_unavailable" and virtual.headers["retry-after"]
        assert spill.exists() and len(spill.read_bytes().splitlines()) == 5

        proxy.start()  # migrations run, keys load, the spill file is replayed
        ids, rolled = wait_for_migrated_rows(pg, 5)
        assert ids == set(served) and rolled == 5
        deadline = time.monotonic() + 15
        while httpx.get(server.url + "/health/dependencies", timeout=10).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        unknown = httpx.post(
            server.v1 + "/chat/completions",
            headers={"authorization": "Bearer sk-gw-never-loaded-0000000000000000"},
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
            timeout=10,
        )
        assert unknown.status_code == 401  # the keys are loaded now: an unknown key is just unknown
