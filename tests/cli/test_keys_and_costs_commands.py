"""``gateway keys`` and ``gateway costs report`` run in this process (typer's CliRunner) on a database of their own.

The end-to-end tests in tests/keys and tests/reports run the same commands against running gateways; these pin what
the commands themselves print and store, without a gateway.
"""

from __future__ import annotations

import csv
import io
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
import typer
from support.databases import BOTH
from typer.testing import CliRunner, Result

from gateway.cli.costs import costs_app
from gateway.cli.keys import keys_app
from gateway.db import Database
from gateway.ledger import LogStore
from gateway.pipeline.records import RequestRecord


def run(group: typer.Typer, database: Database, *args: str) -> Result:
    """``gateway <group> ARGS --database-url URL``: the group mounted as ``gateway`` mounts it."""
    cli = typer.Typer()
    cli.add_typer(group, name="group")
    return CliRunner().invoke(cli, ["group", *args, "--database-url", database.url], env={"NO_COLOR": "1"})


def listed(database: Database) -> dict[str, dict[str, Any]]:
    result = run(keys_app, database, "list", "--json")
    assert result.exit_code == 0, result.output
    return {view["name"]: view for view in json.loads(result.stdout)}


@pytest.mark.parametrize("database_url", BOTH, indirect=True)
def test_a_created_key_is_printed_once_stored_hashed_listed_and_revoked(database: Database) -> None:
    created = run(keys_app, database, "create", "--name", "ci", "--models", "gpt-4o-mini, backup", "--rpm", "5")
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith("sk-gw-") and "\n" not in secret

    view = listed(database)["ci"]
    assert (view["status"], view["models"], view["rpm"]) == ("active", ["gpt-4o-mini", "backup"], 5)
    assert secret not in json.dumps(view) and secret[10:] not in json.dumps(view)
    with database.engine.connect() as connection:
        stored = " ".join(str(v) for row in connection.execute(sa.text("SELECT * FROM virtual_keys")) for v in row)
    assert secret[10:] not in stored

    revoked = run(keys_app, database, "revoke", "ci")
    assert revoked.exit_code == 0, revoked.output
    assert listed(database)["ci"]["status"] == "revoked"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("revoke", "no-such-key"), "no-such-key"),
        (("create", "--name", "x", "--expires", "soon"), "neither a duration"),
        (("create", "--name", "x", "--team", "no-such-team"), "no-such-team"),
    ],
)
def test_a_refused_change_exits_non_zero_with_a_message_and_stores_nothing(
    database: Database, args: tuple[str, ...], message: str
) -> None:
    result = run(keys_app, database, *args)
    assert result.exit_code != 0
    assert message in result.output and "Traceback" not in result.output
    assert listed(database) == {}


def logged(index: int, model: str, cost: float | None, status: int = 200) -> RequestRecord:
    return RequestRecord(request_id=f"req_{index}", created_at=time.time(), endpoint="chat", model=model,
                         status=status, latency_ms=10.0, stream=False, cost_usd=cost, prompt_tokens=10,
                         completion_tokens=5)


def test_costs_report_sums_the_request_log_by_model_as_json_and_csv(database: Database) -> None:
    LogStore(database).write([logged(0, "a", 0.25), logged(1, "a", 0.5), logged(2, "b", None, status=503)])

    as_json = run(costs_app, database, "report", "--since", "1d", "--by", "model", "--format", "json")
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    rows = {row["model"]: row for row in report["data"]}
    assert (rows["a"]["requests"], rows["a"]["cost_usd"], rows["a"]["total_tokens"]) == (2, 0.75, 30)
    assert (rows["b"]["errors"], rows["b"]["unpriced"]) == (1, 1)
    assert (report["total"]["requests"], report["total"]["cost_usd"]) == (3, 0.75)

    as_csv = run(costs_app, database, "report", "--since", "1d", "--format", "csv")
    assert as_csv.exit_code == 0, as_csv.output
    table = {row["model"]: row for row in csv.DictReader(io.StringIO(as_csv.stdout))}
    assert set(table) == {"a", "b"} and float(table["a"]["cost_usd"]) == 0.75


def test_costs_report_refuses_a_range_it_cannot_read(database: Database) -> None:
    result = run(costs_app, database, "report", "--since", "last tuesday")
    assert result.exit_code != 0
    assert "last tuesday" in result.output and "Traceback" not in result.output
