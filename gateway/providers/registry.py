"""Which provider serves a deployment: one table from the prefix of ``litellm_params.model`` to a factory.

``PROVIDERS`` is the whole story: a prefix listed there is served by its entry, any other prefix by litellm
(``THROUGH_LITELLM``). Adding a provider is one line here (and, for one that does not speak OpenAI's API, its own
module with a factory). ``routing.build`` reads the table to build deployments and to decide whether litellm
must be imported at start-up.

An OpenAI-compatible entry takes the fast path (bytes relayed, no litellm). One with no public endpoint
(``default_base=None``) needs the deployment's ``api_base``; without it the deployment goes through litellm,
which knows more defaults.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from gateway.errors import ConfigError
from gateway.providers.base import Provider
from gateway.providers.openai_compat import OpenAICompatProvider

if TYPE_CHECKING:
    from gateway.providers.litellm_provider import LiteLLMLoader


@dataclass(frozen=True, slots=True)
class Upstream:
    """What a factory gets to build one deployment's provider."""

    model: str  #: ``litellm_params.model`` as configured (``groq/llama-3.1-8b``)
    label: str  #: ``deployment <id> (<model>)``, for messages
    session: aiohttp.ClientSession  #: the process's one pooled upstream session
    litellm: LiteLLMLoader | None  #: the litellm module, when the config needed it
    base_url: str | None  #: the entry's base URL for this deployment (``api_base`` or the entry's default)
    api_key: str | None  #: ``api_key``, else the entry's environment variable
    api_base: str | None = None
    api_version: str | None = None
    organization: str | None = None
    extra_headers: dict[str, str] | None = None
    #: ``litellm_params`` the gateway does not read itself (``aws_region_name``, ``vertex_project``, ...).
    extra_params: dict[str, Any] = field(default_factory=dict)
    drop_params: bool | None = None


Factory = Callable[[Upstream], Provider]


@dataclass(frozen=True, slots=True)
class ProviderEntry:
    """How the deployments of one prefix are served."""

    factory: Factory
    fast_path: bool = False  #: relays OpenAI's wire format untouched (``Deployment.fast_path``)
    uses_litellm: bool = False  #: litellm must be imported at start-up
    default_base: str | None = None  #: the public endpoint, when there is one
    base_path: str = ""  #: appended to the base URL (Ollama serves OpenAI's API under ``/v1``)
    key_env: str | None = None  #: the environment variable LiteLLM reads the key from, for ``api_key``-less ones
    #: serves ``POST /responses`` itself (passed through); others get it translated to chat
    #: (``gateway.providers.responses_bridge``)
    speaks_responses: bool = False

    def base_url(self, api_base: str | None) -> str | None:
        base = api_base or self.default_base
        if base is None or not self.base_path:
            return base
        return base.rstrip("/") + self.base_path

    def serves(self, api_base: str | None) -> bool:
        """Whether this entry can serve a deployment with this ``api_base``: a fast-path one needs a base URL."""
        return not self.fast_path or self.base_url(api_base) is not None


def openai_compatible(upstream: Upstream) -> Provider:
    assert upstream.base_url is not None  # ProviderEntry.serves said so
    return OpenAICompatProvider(
        upstream.session,
        api_base=upstream.base_url,
        api_key=upstream.api_key,
        label=upstream.label,
        organization=upstream.organization,
        extra_headers=upstream.extra_headers,
    )


def through_litellm(upstream: Upstream) -> Provider:
    if upstream.litellm is None:
        raise ConfigError(f"{upstream.label} needs litellm, which was not loaded")
    from gateway.providers.litellm_provider import LiteLLMProvider  # noqa: PLC0415 - httpx, only for litellm configs

    params = {
        **upstream.extra_params,
        "api_base": upstream.api_base,
        "api_key": upstream.api_key,
        "api_version": upstream.api_version,
        "extra_headers": upstream.extra_headers,
    }
    return LiteLLMProvider(
        upstream.litellm, model=upstream.model, label=upstream.label, params=params, drop_params=upstream.drop_params
    )


def _openai(
    default_base: str | None = None, key_env: str | None = None, base_path: str = "", *, responses: bool = False
) -> ProviderEntry:
    return ProviderEntry(openai_compatible, fast_path=True, default_base=default_base, base_path=base_path,
                         key_env=key_env, speaks_responses=responses)


#: Every prefix not listed in ``PROVIDERS``.
THROUGH_LITELLM: Final = ProviderEntry(through_litellm, uses_litellm=True)

PROVIDERS: Final[Mapping[str, ProviderEntry]] = {
    "openai": _openai("https://api.openai.com/v1", "OPENAI_API_KEY", responses=True),
    "text-completion-openai": _openai("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "custom_openai": _openai(),
    "openai_like": _openai(),
    "hosted_vllm": _openai(),
    "lm_studio": _openai("http://localhost:1234/v1"),
    "llamafile": _openai("http://127.0.0.1:8080/v1"),
    "ollama": _openai("http://localhost:11434", base_path="/v1"),
    "ollama_chat": _openai("http://localhost:11434", base_path="/v1"),
    "groq": _openai("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "deepseek": _openai("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "together_ai": _openai("https://api.together.xyz/v1", "TOGETHERAI_API_KEY"),
    "fireworks_ai": _openai("https://api.fireworks.ai/inference/v1", "FIREWORKS_AI_API_KEY"),
    "openrouter": _openai("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "xai": _openai("https://api.x.ai/v1", "XAI_API_KEY"),
    "deepinfra": _openai("https://api.deepinfra.com/v1/openai", "DEEPINFRA_API_KEY"),
    "cerebras": _openai("https://api.cerebras.ai/v1", "CEREBRAS_API_KEY"),
}


def provider_for(prefix: str, api_base: str | None) -> ProviderEntry:
    """The entry that serves a deployment of ``prefix`` with this ``api_base``."""
    entry = PROVIDERS.get(prefix, THROUGH_LITELLM)
    return entry if entry.serves(api_base) else THROUGH_LITELLM

