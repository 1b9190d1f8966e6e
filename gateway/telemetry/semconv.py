"""Every span, attribute and metric name the gateway emits, in one table.

The OpenTelemetry GenAI conventions (open-telemetry/semantic-conventions-genai) are still moving: ``gen_ai.system``
became ``gen_ai.provider.name``, the token-usage histogram is about to become counters. Nothing else in the gateway
spells a telemetry name; a rename is one line here.

``OTEL_SEMCONV_STABILITY_OPT_IN`` (comma-separated) is read once at start-up:

* unset, or ``gen_ai_latest_experimental``: the current names only. The gateway had no earlier telemetry to stay
  compatible with, so the latest names are its default.
* ``gen_ai/dup`` (the pattern of ``http/dup``): the current names and, beside them, the names they replaced
  (``gen_ai.system``, ``gen_ai.usage.prompt_tokens`` / ``completion_tokens``), for backends not yet migrated.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from gateway.providers.base import Endpoint

OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
DUPLICATE = "gen_ai/dup"

# --- span attributes: GenAI conventions -------------------------------------------------------------------------
OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_ID = "gen_ai.response.id"
RESPONSE_MODEL = "gen_ai.response.model"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"
CACHE_READ_TOKENS = "gen_ai.usage.cache_read.input_tokens"
REASONING_TOKENS = "gen_ai.usage.reasoning.output_tokens"
INPUT_MESSAGES = "gen_ai.input.messages"  # content: only with capture_content
OUTPUT_MESSAGES = "gen_ai.output.messages"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
HTTP_STATUS = "http.response.status_code"

#: Request body fields -> ``gen_ai.request.*`` attributes (only those present are set).
REQUEST_PARAMETERS: Mapping[str, str] = {
    "max_tokens": "gen_ai.request.max_tokens",
    "max_completion_tokens": "gen_ai.request.max_tokens",
    "temperature": "gen_ai.request.temperature",
    "top_p": "gen_ai.request.top_p",
    "frequency_penalty": "gen_ai.request.frequency_penalty",
    "presence_penalty": "gen_ai.request.presence_penalty",
    "seed": "gen_ai.request.seed",
    "n": "gen_ai.request.choice.count",
    "stop": "gen_ai.request.stop_sequences",
    "encoding_format": "gen_ai.request.encoding_formats",
}

#: The names the current ones replaced, emitted as well under ``gen_ai/dup``.
LEGACY: Mapping[str, str] = {
    PROVIDER: "gen_ai.system",
    INPUT_TOKENS: "gen_ai.usage.prompt_tokens",
    OUTPUT_TOKENS: "gen_ai.usage.completion_tokens",
}

#: ``gen_ai.operation.name`` of each endpoint.
OPERATIONS: Mapping[Endpoint, str] = {"chat": "chat", "completions": "text_completion", "embeddings": "embeddings"}

#: Provider prefixes of ``litellm_params.model`` -> ``gen_ai.provider.name`` well-known values; others pass as-is.
PROVIDER_NAMES: Mapping[str, str] = {
    "azure": "azure.ai.openai",
    "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai",
    "gemini": "gcp.gemini",
    "mistral": "mistral_ai",
    "xai": "x_ai",
}

# --- span attributes: the gateway's own -------------------------------------------------------------------------
REQUEST_ID = "gateway.request.id"
COST = "gateway.cost.usd"
CACHE_STATUS = "gateway.cache.status"
CACHE_SAVINGS = "gateway.cache.savings.usd"
CACHE_SIMILARITY = "gateway.cache.similarity"  # a semantic hit's cosine similarity to the stored question
#: A request's guardrail findings, as arrays aligned by index (one element per finding): what acted, how, where,
#: on which entity type. Never the matched values.
GUARDRAIL_FINDINGS: Mapping[str, str] = {
    "guardrail": "gateway.guardrail.names",
    "policy": "gateway.guardrail.policies",
    "action": "gateway.guardrail.actions",
    "stage": "gateway.guardrail.stages",
    "entity": "gateway.guardrail.entities",
}
PROMPT = "gateway.prompt"  # name@version
KEY_NAME = "gateway.key.name"
TEAM_NAME = "gateway.team.name"
TAGS = "gateway.tags"
ATTEMPTS = "gateway.attempts"
DEPLOYMENT = "gateway.deployment"
ATTEMPT = "gateway.attempt"  # the attempt's number within the request, from 1
OVERHEAD_MS = "gateway.overhead.ms"
TTFT_MS = "gateway.time_to_first_token.ms"
STREAM = "gateway.stream"
TOKENS_ESTIMATED = "gateway.usage.estimated"
STAGE = "gateway.stage"

STAGE_SPAN = "gateway.stage {stage}"  # one per stage that did real work (tracing.STAGE_SPAN_MIN_NS)
ATTEMPT_SPAN = "{operation} {upstream_model}"  # one per upstream attempt (a CLIENT span)


def request_span_name(endpoint: Endpoint, model: str) -> str:
    """``{gen_ai.operation.name} {gen_ai.request.model}``."""
    return f"{OPERATIONS[endpoint]} {model}"


def provider_name(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider)


# --- Prometheus metrics -----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Metric:
    name: str  # Prometheus name (prometheus-client adds _total / _seconds / _bucket as its types do)
    help: str
    labels: tuple[str, ...] = ()
    unit: str = ""


MODEL, TEAM, KEY, STATUS, TOKEN_TYPE, DEPLOYMENT_LABEL, REASON = (
    "model",
    "team",
    "key",
    "status",
    "gen_ai_token_type",
    "deployment",
    "reason",
)
GUARDRAIL_LABEL, POLICY_LABEL, ACTION_LABEL, STAGE_LABEL = ("guardrail", "policy", "action", "stage")

REQUESTS = Metric("gateway_requests", "Requests, by model name, HTTP status and team.", (MODEL, STATUS, TEAM))
DURATION = Metric(
    "gen_ai_server_request_duration", "Time from a request's arrival to its last byte.", (MODEL,), "seconds"
)
TTFT = Metric("gen_ai_server_time_to_first_token", "Time to the first chunk of a stream.", (MODEL,), "seconds")
OVERHEAD = Metric("gateway_overhead", "Request time not spent waiting for the upstream.", (MODEL,), "seconds")
TOKENS = Metric("gen_ai_client_token_usage", "Tokens per request, by type (input, output).", (MODEL, TOKEN_TYPE))
COST_TOTAL = Metric("gateway_cost_usd", "Cost of requests in USD, by model name and team.", (MODEL, TEAM))
CACHE = Metric(
    "gateway_cache_requests",
    "Requests by cache status (hit, semantic-hit, miss, refresh, bypass, none).",
    (MODEL, STATUS),
)
SAVINGS = Metric("gateway_cache_savings_usd", "What cache hits (exact and semantic) would have cost, in USD.", (MODEL,))
GUARDRAIL_ACTIONS = Metric(
    "gateway_guardrail_actions",
    "Guardrail findings acted on, by guardrail and policy (config names), action and stage.",
    (GUARDRAIL_LABEL, POLICY_LABEL, ACTION_LABEL, STAGE_LABEL),
)
RATE_LIMITED = Metric("gateway_rate_limited", "Requests refused by a rate limit or budget (429).", (MODEL, TEAM))
UPSTREAM_ERRORS = Metric(
    "gateway_upstream_errors", "Failed upstream attempts, by deployment and error type.", (DEPLOYMENT_LABEL, REASON)
)
RETRIES = Metric("gateway_upstream_retries", "Upstream attempts after the first one of a request.", (MODEL,))
COOLDOWNS = Metric("gateway_deployment_cooldowns", "Times a deployment was put in cooldown.", (DEPLOYMENT_LABEL,))
LOG_QUEUE = Metric("gateway_log_queue_depth", "Request records waiting for the database writer.")
LOG_SPILL = Metric("gateway_log_spill_bytes", "Size of the spill file (records kept while the database is down).")
LOG_LAG = Metric("gateway_log_lag", "Age of the oldest record not yet written.", unit="seconds")

#: Histogram buckets. Token buckets follow the conventions' advice (powers of 4).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80)
OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25)
TOKEN_BUCKETS = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304)

#: Label values a guardrail finding may carry (``GuardrailFinding``); anything else is counted as ``other``.
GUARDRAIL_ACTION_VALUES = frozenset({"block", "redact", "mask", "warn", "fail_open"})
GUARDRAIL_STAGE_VALUES = frozenset({"pre_call", "post_call", "during_stream"})
CACHE_STATUS_VALUES = frozenset({"hit", "semantic-hit", "miss", "refresh", "bypass", "none"})

#: The one label value for anything not in the config (a model name no route knows, a client's junk).
OTHER = "other"
NONE = ""  # no team / no key
