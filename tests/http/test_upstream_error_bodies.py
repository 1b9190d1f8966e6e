"""An upstream's error reaches the client as the provider's message: never a traceback, always bounded (issue 8,
defect 10), on the fast path and through litellm alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from support.capture import Capture, capture_server
from support.config import MASTER_KEY, base_config
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/provider/secret_internal_module.py", line 42, in handle\n'
    "    raise KeyError(key)\n"
    "KeyError: 'type'\n"
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Capture]:
    with capture_server(status=500) as server:
        yield server


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, upstream: Capture, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp: Path = tmp_path_factory.mktemp("error-bodies")
    config = base_config(fake, tmp, router_settings={"num_retries": 0, "cooldown_time": 0, "fallbacks": []})
    config["model_list"] = [
        {"model_name": "fast", "litellm_params": {"model": "openai/m", "api_base": upstream.url + "/v1"}},
        {
            "model_name": "adapted",
            "litellm_params": {
                "model": "anthropic/claude-3-5-sonnet-20241022",
                "api_base": upstream.url,
                "api_key": "sk-ant-provider",
            },
        },
    ]
    with gateway(config, tmp, ready_timeout=120) as server:
        yield server


def answer(gw: Gateway, upstream: Capture, model: str, status: int, reply: bytes) -> dict[str, Any]:
    upstream.status, upstream.reply = status, reply
    response = httpx.post(
        gw.v1 + "/chat/completions",
        json={"model": model, "messages": HELLO},
        headers={"Authorization": f"Bearer {MASTER_KEY}"},
        timeout=30,
    )
    assert response.status_code >= 400
    assert "Traceback" not in response.text and "secret_internal_module" not in response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert len(error["message"]) <= 600
    return error


@pytest.mark.parametrize("model", ["fast", "adapted"])
def test_a_traceback_in_a_json_error_message_is_cut(gw: Gateway, upstream: Capture, model: str) -> None:
    body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad input\n" + TRACEBACK}}
    error = answer(gw, upstream, model, 400, orjson.dumps(body))
    assert "bad input" in error["message"]


@pytest.mark.parametrize("model", ["fast", "adapted"])
def test_a_plain_text_traceback_is_cut(gw: Gateway, upstream: Capture, model: str) -> None:
    error = answer(gw, upstream, model, 500, ("Internal Server Error\n" + TRACEBACK).encode())
    assert error["message"]


@pytest.mark.parametrize("model", ["fast", "adapted"])
def test_a_huge_error_message_is_bounded(gw: Gateway, upstream: Capture, model: str) -> None:
    body = {"type": "error", "error": {"type": "api_error", "message": "x" * 100_000}}
    answer(gw, upstream, model, 500, orjson.dumps(body))
