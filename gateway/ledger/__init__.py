"""The request log's background batch writer: records go from the request path to an in-memory queue, from
there in batches to ``request_logs`` and ``daily_rollups``, and to an append-only spill file whenever the
database is unreachable or the queue is full. See ``writer.py`` for the guarantees.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from gateway.config.models import GatewayConfig
from gateway.db import Database
from gateway.ledger.spill import SpillFile
from gateway.ledger.store import LogStore
from gateway.ledger.writer import LedgerWriter, WriterSettings

SPILL_NAME = "gateway-spill.jsonl"

__all__ = [
    "SPILL_NAME",
    "LedgerWriter",
    "LogStore",
    "SpillFile",
    "WriterSettings",
    "default_spill_path",
    "start_writer",
]


async def start_writer(config: GatewayConfig, database: Database, *, hold: bool = False) -> LedgerWriter:
    """The writer for ``database`` with the ``gateway.log_*`` settings, started (it replays any spill file).

    ``hold``: the database is not ready (unreachable at start-up): the writer only spills until ``start()``."""
    section = config.gateway
    path = Path(section.log_spill_path) if section.log_spill_path else default_spill_path(database)
    settings = WriterSettings(
        batch_size=section.log_batch_size,
        flush_interval=section.log_flush_interval,
        queue_size=section.log_queue_size,
    )
    writer = LedgerWriter(LogStore(database), SpillFile(path.absolute()), settings)
    if hold:
        writer.hold("the database is not reachable yet")
    else:
        await writer.start()
    return writer


def default_spill_path(database: Database) -> Path:
    """Next to a SQLite database file; ``./gateway-spill.jsonl`` otherwise."""
    url = make_url(database.url)
    if database.dialect == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).absolute().parent / SPILL_NAME
    return Path(SPILL_NAME).absolute()
