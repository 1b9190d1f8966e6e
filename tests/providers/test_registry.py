"""The provider table: which entry serves a prefix, where its API lives, where its key comes from, and what a
factory builds. ``routing.build`` reads nothing else to choose a provider."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from gateway.config.models import GatewayConfig, ModelEntry
from gateway.errors import ConfigError
from gateway.providers.openai_compat import OpenAICompatProvider
from gateway.providers.registry import PROVIDERS, THROUGH_LITELLM, ProviderEntry, Upstream, provider_for
from gateway.routing.build import build_router, needs_litellm


def config(*models: str, api_base: str | None = None, **params: Any) -> GatewayConfig:
    entries = [
        ModelEntry.model_validate(
            {"model_name": f"m{index}", "litellm_params": {"model": model, "api_base": api_base, **params}}
        )
        for index, model in enumerate(models)
    ]
    return GatewayConfig(model_list=entries)


def upstream(base_url: str | None, **fields: Any) -> Upstream:
    return Upstream(model="x/y", label="deployment d (x/y)", session=fields.pop("session", None),  # type: ignore[arg-type]
                    litellm=None, base_url=base_url, api_key=None, **fields)


@pytest.mark.parametrize("prefix", sorted(PROVIDERS))
def test_every_listed_prefix_takes_the_fast_path_with_an_api_base(prefix: str) -> None:
    entry = provider_for(prefix, "http://127.0.0.1:8000/v1")
    assert entry is PROVIDERS[prefix] and entry.fast_path and not entry.uses_litellm


def test_a_public_endpoint_is_the_default_base_and_api_base_overrides_it() -> None:
    assert provider_for("groq", None).base_url(None) == "https://api.groq.com/openai/v1"
    assert provider_for("groq", "http://proxy:1/v1").base_url("http://proxy:1/v1") == "http://proxy:1/v1"


def test_ollama_serves_openai_under_v1_of_its_base() -> None:
    assert PROVIDERS["ollama"].base_url(None) == "http://localhost:11434/v1"
    assert PROVIDERS["ollama_chat"].base_url("http://gpu:11434/") == "http://gpu:11434/v1"


def test_a_compatible_prefix_without_a_public_endpoint_needs_an_api_base_else_litellm() -> None:
    assert provider_for("hosted_vllm", None) is THROUGH_LITELLM
    assert provider_for("hosted_vllm", "http://vllm:8000/v1").fast_path


@pytest.mark.parametrize("prefix", ["anthropic", "gemini", "bedrock", "azure", "no-such-provider"])
def test_every_other_prefix_goes_through_litellm(prefix: str) -> None:
    assert provider_for(prefix, None) is THROUGH_LITELLM
    assert provider_for(prefix, "http://127.0.0.1:8000/v1") is THROUGH_LITELLM
    assert THROUGH_LITELLM.uses_litellm and not THROUGH_LITELLM.fast_path


def test_needs_litellm_follows_the_table() -> None:
    assert not needs_litellm(config("openai/gpt-4o", "groq/llama", "ollama/qwen", "gpt-4o-mini"))
    assert not needs_litellm(config("hosted_vllm/llama", api_base="http://vllm:8000/v1"))
    assert needs_litellm(config("hosted_vllm/llama"))
    assert needs_litellm(config("openai/gpt-4o", "anthropic/claude-x"))


async def test_an_entry_added_to_the_table_serves_its_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a provider is one entry: the router builds its deployments with its factory, no litellm needed."""
    built: list[Upstream] = []

    def factory(up: Upstream) -> Any:
        built.append(up)
        return OpenAICompatProvider(up.session, api_base=up.base_url or "", api_key=up.api_key, label=up.label)

    entry = ProviderEntry(factory, fast_path=True, default_base="https://new.example/v1", key_env="NEW_API_KEY")
    monkeypatch.setitem(PROVIDERS, "newco", entry)  # type: ignore[arg-type]
    assert not needs_litellm(config("newco/model-1"))

    async with aiohttp.ClientSession() as session:
        router = build_router(config("newco/model-1"), session, None, environ={"NEW_API_KEY": "sk-new"})
    assert router.deployments("m0")[0].fast_path
    assert [(up.base_url, up.api_key, up.model) for up in built] == [
        ("https://new.example/v1", "sk-new", "newco/model-1")
    ]


async def test_the_fast_path_key_comes_from_the_entrys_variable_unless_configured() -> None:
    async with aiohttp.ClientSession() as session:
        from_env = build_router(config("groq/llama"), session, None, environ={"GROQ_API_KEY": "sk-env"})
        configured = build_router(config("groq/llama", api_key="sk-cfg"), session, None, environ={"GROQ_API_KEY": "x"})
    headers = [router.deployments("m0")[0].provider.inner._headers for router in (from_env, configured)]  # type: ignore[attr-defined]
    assert [h["Authorization"] for h in headers] == ["Bearer sk-env", "Bearer sk-cfg"]


def test_the_litellm_entry_refuses_to_build_without_litellm_loaded() -> None:
    with pytest.raises(ConfigError, match="needs litellm"):
        THROUGH_LITELLM.factory(upstream(None))
