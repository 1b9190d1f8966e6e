"""Two gateway processes sharing real PostgreSQL and Redis: a CLI rollback reaches both at once.

The gateways' periodic registry check is switched off here (``GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS=0``), so only the
Redis message the CLI publishes can make them reload.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import psycopg
import pytest
import redis
import yaml
from support.config import MASTER_KEY, base_config
from support.prompts import eventually, prompt_doc
from support.servers import FakeProvider, Gateway, gateway
from typer.testing import CliRunner

from gateway.cli.prompts import prompts_app

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
VARS = {"customer_name": "Ada", "question": "Hello?"}


@pytest.fixture
def pg_url() -> Iterator[str]:
    name = f"gw_prompts_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def replicas(fake: FakeProvider, pg_url: str, tmp_path: Path) -> Iterator[tuple[Gateway, Gateway]]:
    prefix = f"gwtest:prompts:{uuid.uuid4().hex[:8]}:"
    config: dict[str, Any] = base_config(fake, tmp_path)
    config["model_list"] = [
        {"model_name": "gpt-4o-mini", "litellm_params": {"model": "openai/gpt-4o-mini", "api_base": fake.v1,
                                                         "api_key": "f"}}
    ]
    config["router_settings"] = {"num_retries": 0}
    config["general_settings"]["database_url"] = pg_url
    config["gateway"] = {**config["gateway"], "redis_url": REDIS_URL, "redis_key_prefix": prefix}
    env = {"GATEWAY_GATEWAY__PROMPT_REFRESH_SECONDS": "0"}
    try:
        with gateway(config, tmp_path / "a", env=env) as first, gateway(config, tmp_path / "b", env=env) as second:
            yield first, second
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*"):
            client.delete(key)
        client.close()


def _cli(gw: Gateway, *args: str, own_process: bool = False) -> str:
    """``gateway prompts ARGS``: in this process, or as its own process, as an operator would run it."""
    command = [*args, "--config", str(gw.config_path)]
    if args[0] in ("push", "release", "promote", "rollback"):
        command += ["--actor", "ops"]
    if not own_process:
        result = CliRunner().invoke(prompts_app, command)
        assert result.exit_code == 0, f"{result.output}{result.exception}"
        return result.output
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "prompts", *command], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _served(client: openai.OpenAI, name: str, user: str = "someone") -> str:
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[], user=user, extra_body={"prompt_id": name, "prompt_variables": VARS}
    )
    return str(raw.headers["x-gateway-prompt-version"])


def _served_or_none(client: openai.OpenAI, name: str) -> str | None:
    try:
        return _served(client, name)
    except openai.BadRequestError:  # the replica does not know the label yet
        return None


def _until_both_serve(clients: list[openai.OpenAI], name: str, expected: str, timeout: float) -> float:
    """Seconds until every replica serves ``expected``; fails after ``timeout``."""
    started = time.perf_counter()
    pending = list(clients)
    while pending:
        pending = [c for c in pending if _served_or_none(c, name) != expected]
        elapsed = time.perf_counter() - started
        assert elapsed < timeout, f"{len(pending)} replica(s) still not on {expected} after {elapsed:.2f}s"
    return time.perf_counter() - started


def test_a_cli_rollback_takes_effect_at_once_on_two_running_gateways(
    replicas: tuple[Gateway, Gateway], tmp_path: Path
) -> None:
    name = f"replicated-{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "prompts"
    folder.mkdir()
    path = folder / "prompt.yaml"
    path.write_text(yaml.safe_dump(prompt_doc(name)))
    assert "created v1" in _cli(replicas[0], "push", str(folder))
    doc = prompt_doc(name)
    doc["messages"][0]["content"] = "You are a new support agent. Answer {{ customer_name }}."
    path.write_text(yaml.safe_dump(doc))
    assert "told through Redis" in _cli(replicas[0], "push", str(folder))
    clients = [openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) for gw in replicas]
    try:
        _cli(replicas[0], "release", name, "--version", "1")
        _until_both_serve(clients, name, f"{name}@1", timeout=1.0)
        _cli(replicas[1], "release", name, "--version", "2")
        _until_both_serve(clients, name, f"{name}@2", timeout=1.0)

        assert "rolled back, v2 -> v1" in _cli(replicas[0], "rollback", name, own_process=True)
        seconds = _until_both_serve(clients, name, f"{name}@1", timeout=0.5)
        print(f"rollback reached both replicas {seconds * 1000:.0f} ms after the CLI exited")

        _cli(replicas[0], "release", name, "--version", "2", "--canary", "50")
        users = [f"user-{i}" for i in range(40)]

        def split() -> list[str]:  # once the canary reached both replicas (no fixed sleep: a busy CI is slow)
            first = [_served(clients[0], name, user) for user in users]
            assert [_served(clients[1], name, user) for user in users] == first  # the same split on every replica
            assert {f"{name}@1", f"{name}@2"} == set(first)
            return first

        first = eventually(split, timeout=5.0)
        canary_users = [user for user, served in zip(users, first, strict=True) if served == f"{name}@2"]
        _cli(replicas[1], "rollback", name)  # ends the canary

        def canary_ended() -> None:  # the canary's users, not "someone", who may have been on v1 all along
            assert {_served(c, name, user) for c in clients for user in canary_users} == {f"{name}@1"}

        eventually(canary_ended, timeout=1.0)
        assert {_served(c, name, user) for c in clients for user in users} == {f"{name}@1"}

        history = _cli(replicas[0], "history", name)
        assert all(action in history for action in ("push", "release", "rollback", "canary", "canary_end"))

        def logged() -> dict[str, Any]:  # both replicas' log writers reach PostgreSQL's request log
            report: dict[str, Any] = json.loads(_cli(replicas[0], "compare", name, "--since-hours", "1", "--json"))
            assert sum(v["requests"] for v in report["variants"]) >= 2 * len(users) * 2
            return report

        report = eventually(logged)
        assert {v["version"] for v in report["variants"]} == {1, 2}
    finally:
        for client in clients:
            client.close()
