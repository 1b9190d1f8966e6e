"""A key's model allow-list holds for fallbacks too (issue 8, defect 5): a key limited to a model that fails gets
the error, never a fallback model it may not use; a key allowed both gets the fallback."""

from __future__ import annotations

from collections.abc import Iterator

import openai
import pytest
from support.config import MASTER_KEY, base_config
from support.keyed import Admin
from support.servers import FakeProvider, Gateway, gateway

HELLO = [{"role": "user", "content": "hi"}]


@pytest.fixture(scope="module")
def gw(fake: FakeProvider, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("fallback-allow-list")
    config = base_config(fake, tmp, router_settings={"num_retries": 0, "cooldown_time": 0})
    config["model_list"] = [m for m in config["model_list"] if m["litellm_params"]["model"].startswith("openai/")]
    config["router_settings"]["fallbacks"] = [{"always-503": ["backup"]}, {"always-500": ["gpt-4o-mini", "backup"]}]
    with gateway(config, tmp, ready_timeout=120) as server:
        yield server


@pytest.fixture(scope="module")
def admin(gw: Gateway) -> Iterator[Admin]:
    admin = Admin(gw.url)
    yield admin
    admin.client.close()


def sdk(gw: Gateway, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.v1, api_key=key, max_retries=0)


def test_a_key_limited_to_the_failing_model_gets_its_error_not_the_fallback(
    gw: Gateway, admin: Admin, fake: FakeProvider
) -> None:
    key = admin.create_key(models=["always-503"])
    with sdk(gw, key) as client, pytest.raises(openai.InternalServerError) as raised:
        client.chat.completions.create(model="always-503", messages=HELLO)  # type: ignore[arg-type]
    assert raised.value.status_code == 503
    assert fake.count("backup-model") == 0, "the fallback is outside the key's models"
    assert fake.count("fail-503") == 1


def test_a_key_allowed_both_models_gets_the_fallback(gw: Gateway, admin: Admin, fake: FakeProvider) -> None:
    key = admin.create_key(models=["always-503", "backup"])
    with sdk(gw, key) as client:
        raw = client.chat.completions.with_raw_response.create(model="always-503", messages=HELLO)  # type: ignore[arg-type]
    assert raw.parse().choices[0].message.content == "Echo: hi"
    assert raw.headers["x-gateway-deployment"].startswith("backup")


def test_disallowed_fallbacks_are_skipped_and_allowed_ones_still_tried(
    gw: Gateway, admin: Admin, fake: FakeProvider
) -> None:
    key = admin.create_key(models=["always-500", "backup"])
    with sdk(gw, key) as client:
        raw = client.chat.completions.with_raw_response.create(model="always-500", messages=HELLO)  # type: ignore[arg-type]
    assert raw.headers["x-gateway-deployment"].startswith("backup")
    assert fake.count("gpt-4o-mini") == 0, "gpt-4o-mini is not among the key's models"


def test_a_teams_allow_list_holds_for_fallbacks_too(gw: Gateway, admin: Admin, fake: FakeProvider) -> None:
    team = admin.create_team(models=["always-503"])
    key = admin.create_key(team=team["name"])
    with sdk(gw, key) as client, pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="always-503", messages=HELLO)  # type: ignore[arg-type]
    assert fake.count("backup-model") == 0


def test_the_master_key_keeps_every_fallback(gw: Gateway, fake: FakeProvider) -> None:
    with sdk(gw, MASTER_KEY) as client:
        reply = client.chat.completions.create(model="always-503", messages=HELLO)  # type: ignore[arg-type]
    assert reply.choices[0].message.content == "Echo: hi"
