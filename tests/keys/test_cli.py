"""``gateway keys`` and ``gateway teams`` as a person runs them: a real subprocess against the shared database,
with the running gateways of this package picking up every change."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from support.keyed import wait_until, write_config
from support.keys import Pair, chat


def gateway_cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([sys.executable, "-m", "gateway", *args], capture_output=True, text=True, timeout=60)
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def config_file(pair: Pair, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The gateways' own config: the CLI finds the database and the Redis to announce changes on in it."""
    return write_config(tmp_path_factory.mktemp("cli") / "gateway.yaml", pair.config)


def test_create_prints_a_working_key_once_and_stores_only_its_hash(pair: Pair, config_file: Path) -> None:
    result = gateway_cli("keys", "create", "--name", "cli-made", "--rpm", "50", "--budget", "5", "--budget-period",
                         "weekly", "--models", "gpt-4o-mini,priced", "--expires", "30d", "--config", str(config_file))
    key = result.stdout.strip()
    assert key.startswith("sk-gw-") and len(key) > 40 and "\n" not in key
    assert "not shown again" in result.stderr
    assert wait_until(lambda: chat(pair.a.v1, key) == 200, timeout=1.0) is not None
    with psycopg.connect(pair.database_url) as db:
        row = db.execute(
            "SELECT key_hash, key_prefix, rpm, budget_usd, budget_period, models, expires_at FROM virtual_keys "
            "WHERE name = 'cli-made'"
        ).fetchone()
        everything = db.execute("SELECT * FROM virtual_keys").fetchall()
    assert row is not None
    assert row[0] == hashlib.sha256(key.encode()).hexdigest() and row[1] == key[:10]
    assert row[2:6] == (50, 5.0, "weekly", ["gpt-4o-mini", "priced"]) and row[6] is not None
    assert key not in repr(everything)
    table = gateway_cli("keys", "list", "--config", str(config_file)).stdout
    assert "cli-made" in table and key[:10] in table and key not in table and key[10:20] not in table


def test_revoke_by_name_reaches_both_gateways_within_a_second(pair: Pair, config_file: Path) -> None:
    key = gateway_cli("keys", "create", "--name", "cli-revoked", "--config", str(config_file)).stdout.strip()
    assert wait_until(lambda: chat(pair.b.v1, key) == 200, timeout=1.0) is not None
    gateway_cli("keys", "revoke", "cli-revoked", "--config", str(config_file))
    revoked_at = time.monotonic()
    assert wait_until(lambda: chat(pair.a.v1, key) == 401 and chat(pair.b.v1, key) == 401, timeout=1.0) is not None
    assert time.monotonic() - revoked_at < 1.0


def test_revoke_without_redis_reaches_gateways_through_the_database_within_a_second(pair: Pair) -> None:
    # Only --database-url: the CLI cannot publish on Redis, so the gateways' poll of the database has to do it.
    key = gateway_cli("keys", "create", "--name", "cli-db-only", "--database-url", pair.database_url).stdout.strip()
    assert wait_until(lambda: chat(pair.a.v1, key) == 200, timeout=1.0) is not None
    gateway_cli("keys", "revoke", "cli-db-only", "--database-url", pair.database_url)
    revoked_at = time.monotonic()
    assert wait_until(lambda: chat(pair.a.v1, key) == 401 and chat(pair.b.v1, key) == 401, timeout=1.0) is not None
    assert time.monotonic() - revoked_at < 1.0


def test_rotate_replaces_the_secret(pair: Pair, config_file: Path) -> None:
    old = gateway_cli("keys", "create", "--name", "cli-rotated", "--config", str(config_file)).stdout.strip()
    new = gateway_cli("keys", "rotate", "cli-rotated", "--config", str(config_file)).stdout.strip()
    assert new.startswith("sk-gw-") and new != old
    assert wait_until(lambda: chat(pair.a.v1, old) == 401 and chat(pair.a.v1, new) == 200, timeout=1.0) is not None


def test_teams_create_list_update(pair: Pair, config_file: Path) -> None:
    gateway_cli("teams", "create", "--name", "cli-team", "--budget", "50", "--rpm", "10", "--config", str(config_file))
    gateway_cli("teams", "update", "cli-team", "--budget-period", "daily", "--clear", "rpm", "--config",
                str(config_file))
    listed = gateway_cli("teams", "list", "--json", "--config", str(config_file)).stdout
    assert '"name": "cli-team"' in listed and '"budget_period": "daily"' in listed and '"rpm": null' in listed


def test_mistakes_are_reported_plainly(pair: Pair, config_file: Path) -> None:
    missing = gateway_cli("keys", "revoke", "no-such-key", "--config", str(config_file), check=False)
    assert missing.returncode == 1 and "no key with id or active name 'no-such-key'" in missing.stderr
    bad_period = gateway_cli("keys", "create", "--name", "x", "--budget-period", "yearly", "--config",
                             str(config_file), check=False)
    assert bad_period.returncode == 2 and "budget_period" in bad_period.stderr  # a bad option value: usage
    pair.admin.create_key(name="cli-twice")
    twice = gateway_cli("keys", "create", "--name", "cli-twice", "--config", str(config_file), check=False)
    assert twice.returncode == 1 and "already exists" in twice.stderr
