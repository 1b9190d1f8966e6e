"""Every command group follows one exit-code convention (1: the operation failed; 2: bad usage, as click's own
usage errors), and tells running gateways about a change in one way."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from gateway.bus import KEYS, InvalidationBus
from gateway.bus.signals import SignalTransport, signal_path
from gateway.cli import app
from gateway.cli.common import EXIT_FAILED, EXIT_USAGE
from gateway.cli.costs import costs_app
from gateway.cli.keys import keys_app, teams_app
from gateway.cli.prompts import prompts_app


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


def run(group: object, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(group, list(args))  # type: ignore[arg-type]
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("group", "args", "code", "message"),
    [
        (keys_app, ["revoke", "no-such-key"], EXIT_FAILED, "no key with id or active name 'no-such-key'"),
        (prompts_app, ["show", "no-such-prompt"], EXIT_FAILED, "no-such-prompt"),
        (keys_app, ["create", "--name", "k", "--budget-period", "yearly"], EXIT_USAGE, "budget_period"),
        (teams_app, ["update", "some-team"], EXIT_USAGE, "nothing to change"),
        (costs_app, ["--since", "last tuesday"], EXIT_USAGE, "error:"),  # its only command: typer runs it directly
        (prompts_app, ["show", "x@"], EXIT_USAGE, "invalid prompt reference"),
    ],
)
def test_a_failed_operation_exits_1_and_bad_usage_exits_2(
    database_url: str, group: object, args: list[str], code: int, message: str
) -> None:
    exit_code, output = run(group, *args, "--database-url", database_url)
    assert (exit_code, message in output) == (code, True), output


def test_typer_itself_exits_2_on_a_usage_error_so_our_2_means_the_same() -> None:
    exit_code, _ = run(keys_app, "create")  # --name is missing
    assert exit_code == EXIT_USAGE


def test_a_bad_config_file_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model_list: 3\n")
    exit_code, output = run(app, "check-config", str(bad))
    assert exit_code == EXIT_USAGE and output.startswith("error:")
    exit_code, output = run(keys_app, "list", "--config", str(bad))
    assert exit_code == EXIT_USAGE and "error:" in output


async def test_a_cli_change_is_announced_on_the_notice_file_of_its_sqlite_database(database_url: str) -> None:
    path = signal_path(database_url)
    assert path is not None
    running = InvalidationBus(SignalTransport(path))
    heard: list[str] = []

    async def reload(payload: str) -> None:
        heard.append(payload)

    running.subscribe(KEYS, reload)
    exit_code, output = run(keys_app, "create", "--name", "announced", "--database-url", database_url)
    assert exit_code == 0 and "running gateways on this database were told" in output
    await running.catch_up()
    assert len(heard) == 1
