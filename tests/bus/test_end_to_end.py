"""Changes made with the CLI reach running gateways through the change bus, not through their periodic refresh:
every refresh here is set far beyond the bound the tests wait (keys 60 s, prompts 600 s).

* the embedded default: two gateway processes on one SQLite file, no Redis (as ``--workers 2`` runs);
* production-like: two gateway processes sharing a throwaway PostgreSQL database and a throwaway Redis prefix.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from keys.test_admin_api import chat
from support.keyed import MASTER_KEY, Admin, keyed_config, migrated, together, wait_until, write_config
from support.servers import Gateway, fake_provider, gateway
from support.throwaway import REDIS_URL, pg_database, redis_prefix

#: Seconds a change may take to reach a gateway: far below the refresh periods, far above what it takes.
BOUND = 3.0
SLOW_REFRESH = {"key_refresh_seconds": 60, "prompt_refresh_seconds": 600}


def gateway_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``gateway ARGS --config FILE`` as an operator runs it: its own process, which exits before we look."""
    result = subprocess.run([sys.executable, "-m", "gateway", *args, "--config", str(config)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def both(gateways: list[Gateway], status: int, key: str) -> bool:
    return all(chat(gw.v1, key) == status for gw in gateways)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Gateway], Path]]:
    tmp = tmp_path_factory.mktemp("embedded")
    with fake_provider() as fake:
        config = keyed_config(fake, migrated(f"sqlite:///{tmp / 'gateway.db'}"), **SLOW_REFRESH)
        with together(gateway(config, tmp / "a"), gateway(config, tmp / "b")) as gateways:
            yield gateways, write_config(tmp / "gateway.yaml", config)


@pytest.fixture(scope="module")
def replicated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[Gateway], Path]]:
    tmp = tmp_path_factory.mktemp("replicated")
    with fake_provider() as fake, pg_database("bus") as database_url, redis_prefix("bus") as prefix:
        config = keyed_config(fake, migrated(database_url), redis_url=REDIS_URL, prefix=prefix, **SLOW_REFRESH)
        with together(gateway(config, tmp / "a"), gateway(config, tmp / "b")) as gateways:
            yield gateways, write_config(tmp / "gateway.yaml", config)


def test_a_cli_key_create_and_revoke_reach_every_process_on_the_sqlite_file(
    embedded: tuple[list[Gateway], Path],
) -> None:
    gateways, config = embedded
    created = gateway_cli(config, "keys", "create", "--name", "embedded-revoked")
    key = created.stdout.strip()
    assert "running gateways on this database were told" in created.stderr
    assert wait_until(lambda: both(gateways, 200, key), timeout=BOUND) is not None
    gateway_cli(config, "keys", "revoke", "embedded-revoked")
    assert wait_until(lambda: both(gateways, 401, key), timeout=BOUND) is not None


def test_an_admin_revoke_on_one_process_reaches_the_other_on_the_sqlite_file(
    embedded: tuple[list[Gateway], Path],
) -> None:
    (first, second), _ = embedded
    admin = Admin(first.url)
    key = admin.create_key(name="embedded-admin-revoked")
    assert wait_until(lambda: chat(second.v1, key) == 200, timeout=BOUND) is not None
    assert admin.client.post("/admin/keys/embedded-admin-revoked/revoke").status_code == 200
    assert chat(first.v1, key) == 401  # the answering process before it answered
    assert wait_until(lambda: chat(second.v1, key) == 401, timeout=BOUND) is not None


def test_a_cli_prompt_release_and_rollback_hold_for_the_very_next_request(
    embedded: tuple[list[Gateway], Path], tmp_path: Path
) -> None:
    gateways, config = embedded
    folder = tmp_path / "prompts"
    folder.mkdir()
    name = "bus-released"
    (folder / "p.yaml").write_text(yaml.safe_dump(_prompt(name, "first")))
    gateway_cli(config, "prompts", "push", str(folder), "--actor", "t")
    gateway_cli(config, "prompts", "release", name, "--version", "1", "--actor", "t")
    assert [_served(gw, name) for gw in gateways] == [f"{name}@1"] * 2  # no wait at all: the next request
    (folder / "p.yaml").write_text(yaml.safe_dump(_prompt(name, "second")))
    gateway_cli(config, "prompts", "push", str(folder), "--actor", "t")
    gateway_cli(config, "prompts", "release", name, "--version", "2", "--actor", "t")
    assert [_served(gw, name) for gw in gateways] == [f"{name}@2"] * 2
    gateway_cli(config, "prompts", "rollback", name, "--actor", "t")
    assert [_served(gw, name) for gw in gateways] == [f"{name}@1"] * 2


@pytest.mark.postgres
@pytest.mark.redis
def test_a_cli_key_revoke_reaches_two_replicas_through_redis(replicated: tuple[list[Gateway], Path]) -> None:
    gateways, config = replicated
    created = gateway_cli(config, "keys", "create", "--name", "replicated-revoked")
    key = created.stdout.strip()
    assert "told through Redis" in created.stderr
    assert wait_until(lambda: both(gateways, 200, key), timeout=BOUND) is not None
    gateway_cli(config, "keys", "revoke", "replicated-revoked")
    assert wait_until(lambda: both(gateways, 401, key), timeout=BOUND) is not None


def _prompt(name: str, words: str) -> dict[str, Any]:
    return {"name": name, "model": "gpt-4o-mini", "messages": [{"role": "system", "content": f"Be {words}."}]}


def _served(gw: Gateway, name: str) -> str:
    with openai.OpenAI(base_url=gw.v1, api_key=MASTER_KEY, max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], extra_body={"prompt_id": name}
        )
    return str(raw.headers["x-gateway-prompt-version"])
