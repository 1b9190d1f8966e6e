"""Stop work for a client that has gone away.

One watcher task per request reads the ASGI ``receive`` channel until ``http.disconnect`` and then cancels the
task doing the work, so the upstream call or stream ends with the client. (Starlette's ``StreamingResponse``
starts a task group for the same job; a single task is cheaper, and this runs on every request.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from starlette.types import Receive

T = TypeVar("T")


class ClientDisconnected(Exception):
    """The client closed the connection before the answer was ready."""


async def until_disconnect(receive: Receive, work: Awaitable[T]) -> T:
    """Await ``work`` in the current task; raise ``ClientDisconnected`` if the client leaves first."""
    current = asyncio.current_task()
    assert current is not None
    watcher = asyncio.get_running_loop().create_task(_cancel_on_disconnect(receive, current))
    try:
        return await work
    except asyncio.CancelledError:
        if watcher.done() and not watcher.cancelled():
            current.uncancel()
            raise ClientDisconnected() from None
        raise
    finally:
        watcher.cancel()


async def _cancel_on_disconnect(receive: Receive, task: asyncio.Task[object]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    task.cancel()
