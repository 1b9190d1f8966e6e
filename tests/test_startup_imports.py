"""What a started gateway has imported: heavy libraries load where their feature is configured or first used.

A real ``gateway serve`` (the CLI's own entry point, in a child process) on a minimal config: one model, SQLite, a
master key, every other section at its default. Once ``/health`` answers, the child reads its own ``sys.modules``;
then it calls the admin API once, which must load FastAPI then (the probe sees a lazy import happen, so it cannot
pass by looking in the wrong place). Idle memory and start-up time follow the number of modules loaded
(docs/benchmarks.md, "Idle memory and start-up"); this test keeps the lazy ones lazy. No timing here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from support.servers import free_port

MASTER = "sk-startup-imports-master"

#: Not imported by a gateway that has started with the defaults: each only when its feature needs it.
LAZY = {
    "numpy": "semantic cache and local models",
    "litellm": "deployments that need litellm (imported in the background)",
    "alembic": "migrating a database that is not at head",
    "mako": "alembic's templates",
    "jinja2": "the first prompt served, or the dashboard",
    "fastapi": "the first /admin request",
    "jsonschema": "a prompt with a variables schema",
    "tiktoken": "counting tokens of a model that needs it",
    "tokenizers": "local models",
    "threadpoolctl": "local models",
    "redis": "a Redis URL in the config",
    "psycopg": "a PostgreSQL database URL",
    "grpc": "OTLP/gRPC trace export",
    "opentelemetry.exporter": "trace export",
    "google.protobuf": "trace export",
    "phonenumbers": "a guardrail policy with phone numbers",
    "detect_secrets": "a guardrail policy with the secrets detector",
    "fastjsonschema": "a guardrail policy with a JSON-schema check",
    "httpx": "webhooks, routed embedders and the eval runner",
    "rich": "CLI commands that print",
}

CHILD = """
import http.client, json, os, sys, threading, time

port, config, watched, master = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]


def get(path, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers=headers or {})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def probe():
    deadline = time.monotonic() + 120
    while get("/health") != 200:
        if time.monotonic() > deadline:
            os._exit(3)
        time.sleep(0.05)
    idle = sorted(name for name in watched if name in sys.modules)
    admin = get("/admin/openapi.json", {"Authorization": "Bearer " + master})
    print("PROBE " + json.dumps({"idle": idle, "admin": admin, "fastapi_after": "fastapi" in sys.modules}), flush=True)
    os._exit(0)


threading.Thread(target=probe, daemon=True).start()
sys.argv = ["gateway", "serve", "--config", config, "--port", str(port), "--log-level", "warning"]
from gateway.cli import main

main()
"""


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "model_list:\n"
        "  - model_name: chat\n"
        "    litellm_params: {model: openai/chat, api_base: 'http://127.0.0.1:9/v1', api_key: unused}\n"
        "general_settings:\n"
        f"  master_key: {MASTER}\n"
        f"  database_url: sqlite:///{tmp_path / 'gateway.db'}\n"
    )
    return path


class Probe(NamedTuple):
    idle: list[str]  # the LAZY modules imported once /health answered
    admin: int | None  # the status of one admin call after that
    fastapi_after: bool


def start_and_probe(tmp_path: Path) -> Probe:
    config = write_config(tmp_path)
    command = [sys.executable, "-c", CHILD, str(free_port()), str(config), json.dumps(sorted(LAZY)), MASTER]
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=tmp_path, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("PROBE "):
            return Probe(**json.loads(line[6:]))
    raise AssertionError(f"the gateway did not start (exit {done.returncode}):\n{done.stdout}{done.stderr}")


def test_a_started_gateway_has_not_imported_what_its_configured_features_do_not_need(tmp_path: Path) -> None:
    first = start_and_probe(tmp_path)  # a new database: migrations run (alembic is imported, in that start only)
    restart = start_and_probe(tmp_path)  # the usual start: the database is at head
    for probe, allowed in ((first, {"alembic", "mako"}), (restart, set())):
        loaded = {name: LAZY[name] for name in probe.idle if name not in allowed}
        assert loaded == {}, f"imported at start-up, but only needed for: {loaded}"
    assert restart.admin == 200 and restart.fastapi_after  # loaded lazily, when first needed
