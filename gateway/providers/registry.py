"""Which ``provider/`` prefixes take the fast path, and where their API lives by default.

These providers speak OpenAI's API themselves, so the gateway relays bytes to them without litellm. A prefix
with ``None`` has no public endpoint: its deployments must set ``api_base``. Every other prefix goes through
litellm.
"""

from __future__ import annotations

from typing import Final

OPENAI_COMPATIBLE: Final[dict[str, str | None]] = {
    "openai": "https://api.openai.com/v1",
    "text-completion-openai": "https://api.openai.com/v1",
    "custom_openai": None,
    "openai_like": None,
    "hosted_vllm": None,
    "lm_studio": "http://localhost:1234/v1",
    "llamafile": "http://127.0.0.1:8080/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com/v1",
    "together_ai": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "openrouter": "https://openrouter.ai/api/v1",
    "xai": "https://api.x.ai/v1",
    "deepinfra": "https://api.deepinfra.com/v1/openai",
    "cerebras": "https://api.cerebras.ai/v1",
}

#: Ollama serves OpenAI's API under /v1 of its own base URL.
OLLAMA_PREFIXES: Final = frozenset({"ollama", "ollama_chat"})
OLLAMA_DEFAULT_BASE: Final = "http://localhost:11434"

#: The environment variable LiteLLM reads a provider's key from, for deployments without ``api_key``.
KEY_ENV: Final[dict[str, str]] = {
    "openai": "OPENAI_API_KEY",
    "text-completion-openai": "OPENAI_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
    "together_ai": "TOGETHERAI_API_KEY",
    "fireworks_ai": "FIREWORKS_AI_API_KEY",
    "openrouter": "OPENROUTER_API_KEY",
    "xai": "XAI_API_KEY",
    "deepinfra": "DEEPINFRA_API_KEY",
    "cerebras": "CEREBRAS_API_KEY",
}


def fast_path_base(provider: str, api_base: str | None) -> str | None:
    """The OpenAI-compatible base URL for this deployment, or None when it must go through litellm."""
    if provider in OLLAMA_PREFIXES:
        return (api_base or OLLAMA_DEFAULT_BASE).rstrip("/") + "/v1"
    if provider not in OPENAI_COMPATIBLE:
        return None
    return api_base or OPENAI_COMPATIBLE[provider]
