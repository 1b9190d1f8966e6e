"""Which request fields a litellm deployment receives: an allow-list per endpoint, never the body as kwargs.

litellm's call functions take the request's fields and their own settings (``api_base``, ``api_key``,
``extra_headers``, ``custom_llm_provider``, ``aws_*``, ``vertex_*``, ``timeout``, ``mock_response``, callbacks,
...) as keyword arguments of one namespace. Spreading a client's body into them would let the client choose
where and how the gateway connects, and send the provider key there. So only the fields of OpenAI's request
schemas (``CreateChatCompletionRequest``, ``CreateCompletionRequest``, ``CreateEmbeddingRequest`` in OpenAI's
OpenAPI document), plus a few provider sampling fields, go to litellm; the rest is dropped without a word, as
litellm's own ``drop_params`` does for fields a provider does not support.

Left out on purpose: ``model`` and ``stream`` (the gateway sets them), and ``metadata`` (the gateway's own tags
channel; litellm reads ``metadata`` as its logging settings).

The fast path (``openai_compat``) sends the body as JSON to the configured URL with the configured headers only,
so no field there can change where or how the gateway connects; the OpenAI-compatible upstream checks the fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from gateway.providers.base import Endpoint

#: Fields that providers other than OpenAI take and that OpenAI SDK users send through ``extra_body``. Each one
#: only shapes the generated text; none names a host, a credential, a header or a client setting.
PROVIDER_EXTRAS: Final = frozenset({"top_k", "thinking", "safety_settings"})

CHAT_FIELDS: Final = frozenset(
    {
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "messages",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)

COMPLETIONS_FIELDS: Final = frozenset(
    {
        "best_of",
        "echo",
        "frequency_penalty",
        "logit_bias",
        "logprobs",
        "max_tokens",
        "n",
        "presence_penalty",
        "prompt",
        "seed",
        "stop",
        "stream_options",
        "suffix",
        "temperature",
        "top_p",
        "user",
    }
)

EMBEDDINGS_FIELDS: Final = frozenset({"dimensions", "encoding_format", "input", "user"})

ALLOWED: Final[Mapping[Endpoint, frozenset[str]]] = {
    "chat": CHAT_FIELDS | PROVIDER_EXTRAS,
    "completions": COMPLETIONS_FIELDS | PROVIDER_EXTRAS,
    "embeddings": EMBEDDINGS_FIELDS,
}


def allowed_fields(endpoint: Endpoint, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body's fields that may reach litellm for this endpoint; everything else is dropped."""
    allowed = ALLOWED[endpoint]
    return {name: value for name, value in body.items() if name in allowed}


#: ``litellm_params`` keys that are request fields: a deployment's defaults for them (LiteLLM sends them on every
#: call). Everything else in ``litellm_params`` is a provider setting.
REQUEST_DEFAULTS: Final = (CHAT_FIELDS | COMPLETIONS_FIELDS | EMBEDDINGS_FIELDS | PROVIDER_EXTRAS) - {
    "messages", "prompt", "input", "stream_options", "store",
}
#: The Responses API's names for the chat fields a deployment may default (others have no Responses meaning).
RESPONSES_NAMES: Final = {
    "max_tokens": "max_output_tokens",
    "max_completion_tokens": "max_output_tokens",
    "temperature": "temperature",
    "top_p": "top_p",
    "user": "user",
    "parallel_tool_calls": "parallel_tool_calls",
    "tool_choice": "tool_choice",
    "service_tier": "service_tier",
    "top_logprobs": "top_logprobs",
}


def apply_defaults(body: dict[str, Any], endpoint: Endpoint, defaults: Mapping[str, Any]) -> None:
    """Set a deployment's default request fields that ``body`` leaves out and that ``endpoint`` takes."""
    if endpoint == "responses":
        for name, value in defaults.items():
            target = RESPONSES_NAMES.get(name)
            if target is not None and body.get(target) is None:
                body[target] = value
        return
    allowed = ALLOWED[endpoint]
    limit_set = body.get("max_tokens") is not None or body.get("max_completion_tokens") is not None
    for name, value in defaults.items():
        if name in _TOKEN_LIMITS and limit_set:
            continue  # the request's own limit, under either name, wins (OpenAI refuses both at once)
        if name in allowed and body.get(name) is None:
            body[name] = value


_TOKEN_LIMITS: Final = frozenset({"max_tokens", "max_completion_tokens"})
