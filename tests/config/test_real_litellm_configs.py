"""Real LiteLLM proxy configs (``litellm_configs/``, copied from BerriAI/litellm) run with LiteLLM's meaning.

Each one either starts and serves its models, with every ``api_base`` pointed at the fake provider, or is refused
in one go with a message naming file, line and key. The configs are the files as LiteLLM ships them; only the
copy a test starts is pointed at the fake (and given a master key long enough where LiteLLM's example has
``sk-1234``, which the gateway refuses on purpose).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from support.servers import FakeProvider, gateway

from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.providers.registry import PROVIDERS

CONFIGS = Path(__file__).with_name("litellm_configs")
MASTER = "sk-test-master-for-litellm-configs"
PROVIDER_KEYS = {name: "sk-fake" for name in ("OPENAI_API_KEY", "AZURE_API_KEY", "ANTHROPIC_API_KEY", "GROQ_API_KEY")}
#: Providers the fake provider speaks: the OpenAI-compatible fast path, and Anthropic through litellm.
SERVED_BY_FAKE = frozenset(PROVIDERS) | {"anthropic"}


def pointed_at(fake: FakeProvider, name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONFIGS / name).read_text())
    for entry in data["model_list"]:
        params = entry["litellm_params"]
        params["api_base"] = fake.url if _provider(params["model"]) in ("anthropic", "ollama") else fake.v1
    data.setdefault("general_settings", {})["master_key"] = MASTER
    return data


def _provider(model: str) -> str:
    prefix, sep, _ = model.partition("/")
    return prefix if sep else "openai"


def servable(data: dict[str, Any]) -> list[str]:
    """The configured names whose every deployment the fake can answer."""
    names: dict[str, bool] = {}
    for entry in data["model_list"]:
        name, model = entry["model_name"], entry["litellm_params"]["model"]
        ok = "*" not in name and _provider(model) in SERVED_BY_FAKE and not model.endswith("/")
        names[name] = names.get(name, True) and ok
    return [name for name, ok in names.items() if ok]


def chat(url: str, model: str, **extra: Any) -> httpx.Response:
    return httpx.post(
        url + "/v1/chat/completions",
        headers={"Authorization": f"Bearer {MASTER}", **extra.pop("headers", {})},
        json={"model": model, "messages": [{"role": "user", "content": "hi"}], **extra},
        timeout=60,
    )


@pytest.mark.parametrize("name", sorted(path.name for path in CONFIGS.glob("*.yaml")))
def test_each_config_starts_and_serves_its_models(fake: FakeProvider, tmp_path: Path, name: str) -> None:
    data = pointed_at(fake, name)
    configured = {entry["model_name"] for entry in data["model_list"]}
    with gateway(data, tmp_path, env=PROVIDER_KEYS) as server:
        listed = httpx.get(server.v1 + "/models", headers={"Authorization": f"Bearer {MASTER}"}).json()["data"]
        ids = {model["id"] for model in listed}
        assert {n for n in configured if "*" not in n} <= ids
        assert not any("*" in model_id for model_id in ids)
        for model in servable(data):
            answer = chat(server.url, model)
            assert answer.status_code == 200, (model, answer.text)


def test_litellms_root_config_names_every_missing_variable_in_one_error() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "proxy_server_config.yaml", {})
    message = str(caught.value)
    for variable in PROVIDER_KEYS:
        assert f"environment variable {variable} is not set" in message
    assert "proxy_server_config.yaml:13: model_list[1].litellm_params.api_key" in message
    # Used only by settings the gateway ignores (Redis of LiteLLM's router, Langfuse, fine-tuning/files sections).
    for ignored in ("REDIS_HOST", "LANGFUSE_PROJECT1_SECRET", "AZURE_API_BASE"):
        assert ignored not in message


def test_a_short_master_key_is_refused_naming_file_line_and_key() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(CONFIGS / "tag_routing.yaml", PROVIDER_KEYS)
    assert "tag_routing.yaml:24: general_settings.master_key" in str(caught.value)


def test_the_root_configs_wildcards_route_concrete_names(fake: FakeProvider, tmp_path: Path) -> None:
    with gateway(pointed_at(fake, "proxy_server_config.yaml"), tmp_path, env=PROVIDER_KEYS) as server:
        for model, upstream, path in (
            ("anthropic/claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20241022", "/v1/messages"),
            ("groq/llama-3.1-8b-instant", "llama-3.1-8b-instant", "/v1/chat/completions"),
            ("gpt-4o-mini", "gpt-4o-mini", "/v1/chat/completions"),  # model_name "*" -> openai/*
        ):
            answer = chat(server.url, model)
            assert answer.status_code == 200, answer.text
            assert answer.headers["x-gateway-model"] == model
            assert fake.count(upstream, path) == 1
        ids = {m["id"] for m in httpx.get(server.v1 + "/models", headers={"Authorization": f"Bearer {MASTER}"}).json()[
            "data"]}
        assert "anthropic/claude-haiku-4-5" in ids


def test_default_params_in_litellm_params_reach_the_fast_path(fake: FakeProvider, tmp_path: Path) -> None:
    with gateway(pointed_at(fake, "aliases_config.yaml"), tmp_path) as server:
        assert chat(server.url, "gpt-3.5-turbo").status_code == 200
        sent = fake.stats()["last_request"]
        assert (sent["temperature"], sent["max_tokens"]) == (0.1, 20)
        assert chat(server.url, "gpt-3.5-turbo", temperature=0.7).status_code == 200
        assert fake.stats()["last_request"]["temperature"] == 0.7  # the request's own value wins


def test_tag_routing_sends_tagged_requests_to_tagged_deployments(fake: FakeProvider, tmp_path: Path) -> None:
    with gateway(pointed_at(fake, "tag_routing.yaml"), tmp_path, env=PROVIDER_KEYS) as server:
        assert chat(server.url, "gpt-4", headers={"x-gateway-tags": "free"}).status_code == 200
        assert fake.count("fake") == 1
        assert chat(server.url, "gpt-4", metadata={"tags": ["paid"]}).status_code == 200
        assert chat(server.url, "gpt-4").status_code == 200  # untagged: the `default` deployment
        assert fake.count("gpt-4o") == 2 and fake.count("fake") == 1
