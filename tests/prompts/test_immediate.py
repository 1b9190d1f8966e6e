"""A prompt change reaches a running gateway at once, without Redis and with the periodic check made slow:
a miss checks the store before the 400, and the CLI signals the gateways on its SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest
import yaml
from support.config import MASTER_KEY, base_config
from support.prompts import PromptKit, prompt_doc
from support.servers import FakeProvider, Gateway, gateway

import gateway.prompts.cache as cache_module
from gateway.db import Database
from gateway.prompts.cache import PromptCache
from gateway.prompts.loader import parse
from gateway.prompts.registry import push

VARIABLES = {"customer_name": "Ada", "question": "Where is my parcel?"}


@pytest.fixture(scope="module")
def slow_refresh_gateway(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("immediate")
    config = base_config(fake, tmp)
    config["model_list"] = [{"model_name": "gpt-4o-mini", "litellm_params": {
        "model": "openai/gpt-4o-mini", "api_base": fake.v1, "api_key": "f"}}]
    config["router_settings"] = {"num_retries": 0}
    config["gateway"]["prompt_refresh_seconds"] = 600  # the periodic check never helps within a test
    with gateway(config, tmp) as server:
        yield server


@pytest.fixture
def kit(slow_refresh_gateway: Gateway, tmp_path: Path) -> Iterator[PromptKit]:
    folder = tmp_path / "prompts"
    folder.mkdir()
    with (
        openai.OpenAI(base_url=slow_refresh_gateway.v1, api_key=MASTER_KEY, max_retries=0) as sdk,
        httpx.Client(base_url=slow_refresh_gateway.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}) as admin,
    ):
        yield PromptKit(slow_refresh_gateway, sdk, admin, folder)


def test_a_prompt_written_a_moment_ago_is_served_not_unknown(kit: PromptKit) -> None:
    name = kit.name("fresh")
    database = Database(kit.database_url())
    try:  # straight into the store: no bus message, no signal, nothing but the store itself
        push(database, [("inline", parse(yaml.safe_dump(prompt_doc(name))))], "tester")
    finally:
        database.dispose()
    assert kit.served(f"{name}@1") == f"{name}@1"


def test_an_unknown_prompt_is_still_a_400(kit: PromptKit) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        kit.chat(f"{kit.name('never')}@1", VARIABLES)
    assert caught.value.code == "prompt_not_found"


def test_a_cli_release_and_rollback_reach_the_running_gateway_at_once(kit: PromptKit) -> None:
    name = kit.name("release")
    kit.push(prompt_doc(name))
    kit.cli("release", name, "--version", "1", "--force")
    assert kit.served(name) == f"{name}@1"
    kit.push(prompt_doc(name, description="second"))
    kit.cli("release", name, "--version", "2", "--force")
    assert kit.served(name) == f"{name}@2"  # at once: no 2 s (here 600 s) wait
    kit.cli("rollback", name)
    assert kit.served(name) == f"{name}@1"


async def test_a_database_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_module, "SIGNAL_POLL_SECONDS", 0.02, raising=False)
    database = Database(f"sqlite:///{tmp_path / 'p.db'}")
    database.upgrade()
    cache = PromptCache(database, refresh_seconds=0.02)
    await cache.reload()
    healthy = cache_module.read_token
    monkeypatch.setattr(cache_module, "read_token", lambda db: (_ for _ in ()).throw(OSError("database is down\nmore")))
    caplog.set_level(logging.WARNING, logger="gateway.prompts")
    cache.start()
    try:
        await asyncio.sleep(0.5)  # some 25 failed checks
        monkeypatch.setattr(cache_module, "read_token", healthy)
        await asyncio.sleep(0.3)
    finally:
        await cache.aclose()
        database.dispose()
    lines = [record.getMessage() for record in caplog.records if record.name == "gateway.prompts"]
    assert len(lines) == 2, lines
    assert "cannot read the registry (OSError: database is down)" in lines[0] and "\n" not in lines[0]
    assert "can be read again" in lines[1]
