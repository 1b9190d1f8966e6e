"""A gateway with traces and metrics off never loads OpenTelemetry or prometheus-client (memory: issue 15's idle
goal), and one with them on does. Each case builds the app in a fresh interpreter, runs its start-up and serves a
request (with a client's ``traceparent``), then lists what it imported."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = """
import asyncio, json, sys
from gateway.config.models import GatewayConfig, ModelEntry
from gateway.http.app import create_app
from gateway.http.in_process import in_process_client

async def main(telemetry):
    entry = ModelEntry.model_validate(
        {"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": "http://127.0.0.1:9/v1"}})
    config = GatewayConfig(model_list=[entry], general_settings={"database_url": sys.argv[1]},
                           gateway={"telemetry": telemetry})
    async with in_process_client(create_app(config), base_url="http://gateway") as client:
        answer = await client.post("/v1/chat/completions", json={"model": "m", "messages": [{"role": "user",
            "content": "x"}]}, headers={"traceparent": "00-" + "a" * 32 + "-" + "b" * 16 + "-01"})
    loaded = sorted({name.split(".")[0] for name in sys.modules} & {"opentelemetry", "prometheus_client", "google"})
    print(json.dumps({"status": answer.status_code, "loaded": loaded}))

asyncio.run(main(json.loads(sys.argv[2])))
"""


def loaded_by(telemetry: dict[str, object], tmp_path: Path) -> list[str]:
    database = f"sqlite:///{tmp_path / 'g.db'}"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no OTEL_* variable of the caller's turns tracing on
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, database, json.dumps(telemetry)],
        capture_output=True, text=True, timeout=120, env=env, check=False, cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["status"] == 502  # the request went through the pipeline to the (absent) upstream
    loaded: list[str] = found["loaded"]
    return loaded


def test_telemetry_off_imports_neither_opentelemetry_nor_prometheus(tmp_path: Path) -> None:
    assert loaded_by({"metrics": False}, tmp_path) == []


def test_metrics_load_prometheus_and_traces_load_opentelemetry(tmp_path: Path) -> None:
    assert loaded_by({"metrics": True}, tmp_path) == ["prometheus_client"]
    traced = loaded_by({"metrics": False, "otlp_endpoint": "http://127.0.0.1:9"}, tmp_path)
    assert {"opentelemetry", "google"} <= set(traced) and "prometheus_client" not in traced
