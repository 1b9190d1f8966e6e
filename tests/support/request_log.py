"""Read a request's row from a test gateway's request log (its SQLite file), waiting for the background writer."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from support.servers import Gateway


def logged_row(server: Gateway, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
    """The ``request_logs`` row of ``request_id``; the gateway's SQLite file is next to its config."""
    database = server.config_path.parent / "gateway.db"
    deadline = time.monotonic() + timeout
    while True:
        with sqlite3.connect(database) as connection:
            connection.row_factory = sqlite3.Row
            row = connection.execute("SELECT * FROM request_logs WHERE request_id = ?", (request_id,)).fetchone()
        if row is not None:
            return dict(row)
        assert time.monotonic() < deadline, f"{request_id} was never logged"
        time.sleep(0.05)
