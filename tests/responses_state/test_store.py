"""ResponseStore on SQLite and PostgreSQL: owners, chaining, deletion and the retention purge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, update
from support.databases import BOTH

from gateway.db import Database
from gateway.db.responses import StoredResponse
from gateway.errors import NotFound
from gateway.responses_state import ResponseStore

pytestmark = pytest.mark.parametrize("database_url", BOTH, indirect=True)
ANSWER = {"id": "resp_1", "object": "response", "output": [
    {"type": "message", "id": "msg_a", "role": "assistant", "content": [{"type": "output_text", "text": "hi Ada"}]}
]}


async def test_a_stored_response_is_its_owners_only(database: Database) -> None:
    store = ResponseStore(database, retention_days=30)
    await store.save("key-a", "m", [{"type": "message", "role": "user", "content": "I am Ada"}], ANSWER)
    stored = await store.require("key-a", "resp_1")
    assert stored.response == ANSWER
    assert stored.items[0]["id"].startswith("msg_")  # listed input items carry ids
    assert await store.load("key-b", "resp_1") is None
    with pytest.raises(NotFound):
        await store.delete("key-b", "resp_1")
    await store.delete("key-a", "resp_1")
    assert await store.load("key-a", "resp_1") is None


async def test_expand_puts_the_earlier_turn_before_the_new_input(database: Database) -> None:
    store = ResponseStore(database, retention_days=30)
    await store.save("k", "m", [{"type": "message", "role": "user", "content": "I am Ada"}], ANSWER)
    body = await store.expand("k", {"model": "m", "previous_response_id": "resp_1", "input": "who am I?"})
    assert "previous_response_id" not in body
    assert [item.get("content") for item in body["input"]][::2] == ["I am Ada", "who am I?"]
    assert body["input"][1]["id"] == "msg_a"
    unknown = {"model": "m", "previous_response_id": "resp_elsewhere", "input": "x"}
    assert await store.expand("k", unknown) == unknown  # left for an upstream that keeps its own


async def test_the_purge_removes_what_is_past_its_retention(database: Database) -> None:
    store = ResponseStore(database, retention_days=1)
    await store.save("k", "m", [], ANSWER)
    await store.save("k", "m", [], {**ANSWER, "id": "resp_2"})
    with database.session() as session, session.begin():
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(StoredResponse).where(col(StoredResponse.id) == "resp_1").values(expires_at=past))
    assert await store.load("k", "resp_1") is None  # expired: gone for readers at once
    assert await store.purge() == 1
    assert await store.load("k", "resp_2") is not None
