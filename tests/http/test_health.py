"""Readiness means "can serve" (issue 8, defect 9): ``/health/ready`` stays 200 through a Redis or database outage,
which the body and ``/health/dependencies`` (503) report. A load balancer or ``docker compose`` health check on
``/health/ready`` must not take every replica out of rotation while requests are still served."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
from support.servers import FakeProvider, free_port, gateway

MASTER = "sk-test-master"


def test_ready_stays_200_while_redis_is_down_and_dependencies_say_so(fake: FakeProvider, tmp_path: Path) -> None:
    config = {
        "model_list": [
            {
                "model_name": "gpt-4o-mini",
                "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": fake.v1, "api_key": "fake"},
            }
        ],
        "general_settings": {"master_key": MASTER, "database_url": f"sqlite:///{tmp_path / 'g.db'}"},
        "gateway": {"redis_url": f"redis://127.0.0.1:{free_port()}/0"},  # nothing listens there
    }
    with gateway(config, tmp_path) as server:
        with openai.OpenAI(base_url=server.v1, api_key=MASTER, max_retries=0) as client:
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        ready = httpx.get(server.url + "/health/ready", timeout=10)
        dependencies = httpx.get(server.url + "/health/dependencies", timeout=10)
    assert ready.status_code == 200
    body = ready.json()
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"].startswith("down")
    assert body["degraded"] == ["redis"] and body["request_log"]["database"] == "up"
    assert dependencies.status_code == 503 and dependencies.json()["degraded"] == ["redis"]
