"""The conversation state of the Responses API, kept by the gateway: ``previous_response_id`` and stored responses.

Contract:

* ``save(owner, model, items, response)`` keeps one response the gateway served with ``store`` on: the input
  items the model saw (earlier turns of a chain included) and the ``response`` object, until the retention
  (``gateway.responses_retention_days``) has passed.
* ``load(owner, id)`` returns it to the key that made it, and only to that key; ``delete`` removes it.
* ``expand(owner, body)`` turns a request with a ``previous_response_id`` the gateway stored into one whose
  ``input`` holds the whole conversation (the earlier input and output items, then the new input), so any model,
  whatever its provider, can continue it. An id the gateway did not store is left for the upstream (OpenAI keeps
  its own), which answers 400 if it does not know it either.
* ``purge_forever()`` deletes expired rows, hourly, in the background.

The database is synchronous (SQLAlchemy), so every call runs in a worker thread. The stored content is the
user's: nothing here logs it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import col, delete, select

from gateway.db import Database
from gateway.db.responses import StoredResponse
from gateway.errors import NotFound
from gateway.responses_compat import input_items

logger = logging.getLogger("gateway.responses")
PURGE_INTERVAL_SECONDS = 3600.0
JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stored:
    items: list[JSON]
    response: JSON


class ResponseStore:
    def __init__(self, database: Database, retention_days: float) -> None:
        self._database = database
        self._retention = timedelta(days=retention_days)

    async def save(self, owner: str, model: str, items: list[JSON], response: JSON) -> None:
        now = datetime.now(UTC)
        row = StoredResponse(
            id=str(response["id"]),
            owner=owner,
            model=model[:255],
            created_at=now,
            expires_at=now + self._retention,
            input_items=[_with_id(item) for item in items],
            response=response,
        )
        await asyncio.to_thread(self._merge, row)

    def _merge(self, row: StoredResponse) -> None:
        with self._database.session() as session, session.begin():
            session.merge(row)

    async def load(self, owner: str, response_id: str) -> Stored | None:
        row = await asyncio.to_thread(self._get, response_id)
        if row is None or row.owner != owner or row.expires_at.replace(tzinfo=UTC) < datetime.now(UTC):
            return None
        return Stored(items=row.input_items, response=row.response)

    def _get(self, response_id: str) -> StoredResponse | None:
        with self._database.session() as session:
            return session.get(StoredResponse, response_id)

    async def require(self, owner: str, response_id: str) -> Stored:
        stored = await self.load(owner, response_id)
        if stored is None:
            raise NotFound(f"No response found with id '{response_id}'.", param="response_id")
        return stored

    async def delete(self, owner: str, response_id: str) -> None:
        await self.require(owner, response_id)
        await asyncio.to_thread(self._delete, response_id)

    def _delete(self, response_id: str) -> None:
        with self._database.session() as session, session.begin():
            session.execute(delete(StoredResponse).where(col(StoredResponse.id) == response_id))

    async def expand(self, owner: str, body: JSON) -> JSON:
        """``body`` with a stored ``previous_response_id`` turned into input items (see the module docstring)."""
        previous = body.get("previous_response_id")
        if not isinstance(previous, str) or not previous:
            return body
        stored = await self.load(owner, previous)
        if stored is None:
            return body
        output = [item for item in stored.response.get("output") or [] if isinstance(item, dict)]
        expanded = {k: v for k, v in body.items() if k != "previous_response_id"}
        expanded["input"] = [*stored.items, *output, *input_items(body)]
        return expanded

    async def purge(self) -> int:
        return await asyncio.to_thread(self._purge, datetime.now(UTC))

    def _purge(self, now: datetime) -> int:
        with self._database.session() as session, session.begin():
            expired = session.execute(select(StoredResponse.id).where(col(StoredResponse.expires_at) < now)).all()
            if expired:
                ids = [row[0] for row in expired]
                session.execute(delete(StoredResponse).where(col(StoredResponse.id).in_(ids)))
            return len(expired)

    async def purge_forever(self, interval: float = PURGE_INTERVAL_SECONDS) -> None:
        while True:
            try:
                removed = await self.purge()
                if removed:
                    logger.info("deleted %d stored responses past their retention", removed)
            except Exception as exc:  # the database may be down; the next round tries again
                logger.warning("purging stored responses failed (%s); retrying later", type(exc).__name__)
            await asyncio.sleep(interval)


def _with_id(item: JSON) -> JSON:
    """Input items listed by ``/input_items`` carry an id, as OpenAI's do; a client's item may not have one."""
    if isinstance(item.get("id"), str):
        return item
    prefix = {"message": "msg", "function_call_output": "fco", "function_call": "fc"}.get(str(item.get("type")), "item")
    return {"id": f"{prefix}_{uuid.uuid4().hex}", **item}
