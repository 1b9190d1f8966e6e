"""The app called in process (``httpx.ASGITransport``), with a hand-made upstream session and record sink."""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest
from support.asgi import in_process
from support.contracts import validate

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.http.app import create_app
from gateway.pipeline.records import RequestRecord


class ListSink:
    def __init__(self) -> None:
        self.records: list[RequestRecord] = []

    def emit(self, record: RequestRecord) -> None:
        self.records.append(record)

    async def aclose(self) -> None:
        return None


class BrokenSession:
    """An upstream session with a bug in it: not a network error, a plain exception."""

    def post(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret-ish internals")

    async def close(self) -> None:
        return None


def config(tmp_path: Path) -> GatewayConfig:
    entry = ModelEntry.model_validate(
        {"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": "http://127.0.0.1:9/v1"}}
    )
    return GatewayConfig(model_list=[entry], general_settings={"database_url": f"sqlite:///{tmp_path / 'g.db'}"})  # type: ignore[arg-type]


@pytest.mark.asyncio(loop_scope="function")
async def test_a_bug_answers_an_openai_shaped_500_and_is_still_recorded(tmp_path: Path) -> None:
    sink = ListSink()
    app = create_app(config(tmp_path), session=BrokenSession(), sink=sink)  # type: ignore[arg-type]
    async with in_process(app, base_url="http://gateway") as client:
        response = await client.post(
            "/v1/chat/completions", json={"model": "m", "messages": [{"role": "user", "content": "x"}]}
        )
    assert response.status_code == 500
    validate("ErrorResponse", response.json())
    assert "secret-ish" not in response.text
    assert response.headers["x-gateway-request-id"]
    assert [record.status for record in sink.records] == [500]


@pytest.mark.asyncio(loop_scope="function")
async def test_models_are_listed_in_process(tmp_path: Path) -> None:
    async with in_process(create_app(config(tmp_path), sink=ListSink())) as client:
        listing = (await client.get("/v1/models")).json()
    validate("ListModelsResponse", listing)
    assert [model["id"] for model in listing["data"]] == ["m"]


@pytest.mark.asyncio(loop_scope="function")
async def test_an_app_in_process_leaves_the_callers_garbage_collector_alone(tmp_path: Path) -> None:
    """Only ``gateway serve`` tunes the GC (tests/cli/test_serve_gc.py): an eval or a test running the app in its
    own process keeps its thresholds and its unfrozen objects."""
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    async with in_process(create_app(config(tmp_path), sink=ListSink())) as client:
        assert (await client.get("/v1/models")).status_code == 200
        assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
    assert (gc.get_threshold(), gc.get_freeze_count()) == (threshold, frozen)
