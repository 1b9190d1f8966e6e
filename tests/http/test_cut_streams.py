"""A stream cut by the server (shutdown past its grace period cancels the request's task) still leaves its record.

Issue 8, defect 9: streams open at shutdown were cut with no record. The app runs in process with a record sink
that keeps what it gets; the fake provider runs in the same loop, sending a chunk every 200 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestServer

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.fake_provider.app import FakeOptions, create_fake_app
from gateway.http.app import create_app
from gateway.pipeline.records import RequestRecord


class ListSink:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def emit(self, record: RequestRecord) -> None:
        self.records.append(record)

    async def aclose(self) -> None:
        return None


def scope(state: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/v1/chat/completions", "raw_path": b"/v1/chat/completions", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"gateway")],
        "server": ("gateway", 80), "client": ("127.0.0.1", 1), "state": state,
    }


@pytest.mark.asyncio(loop_scope="function")
async def test_a_stream_cancelled_by_the_server_is_still_recorded(tmp_path: Path) -> None:
    fake = TestServer(create_fake_app(FakeOptions(chunk_delay_ms=200)))
    await fake.start_server()
    entry = ModelEntry.model_validate(
        {"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": str(fake.make_url("/v1"))}}
    )
    config = GatewayConfig(model_list=[entry], general_settings={"database_url": f"sqlite:///{tmp_path / 'g.db'}"})  # type: ignore[arg-type]
    sink = ListSink()
    app = create_app(config, sink=sink)
    body = orjson.dumps({"model": "m", "stream": True, "messages": [{"role": "user", "content": "one two three"}]})
    first_chunk = asyncio.Event()
    received = False

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays: only the server cuts this stream
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            first_chunk.set()

    try:
        async with app.router.lifespan_context(app) as state:
            task = asyncio.create_task(app(scope(dict(state or {})), receive, send))
            await asyncio.wait_for(first_chunk.wait(), 10)
            task.cancel()  # what the server does to a request still open when the grace period ends
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, 10)
            assert [record.status for record in sink.records] == [499]
            assert sink.records[0].stream and sink.records[0].model == "m"
    finally:
        await fake.close()
