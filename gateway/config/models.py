"""The typed shape of the configuration file.

The file accepts LiteLLM proxy's format (``model_list``, ``router_settings``, ``general_settings``,
``litellm_settings``, ``environment_variables``) so its users can migrate with the file they have. Keys in those
sections that the gateway does not implement are kept, and each one is named in a warning at start-up. The
gateway's own section, ``gateway:``, is strict: an unknown key there is an error.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from gateway.config.guardrails import GuardrailsSection

RoutingStrategy = Literal["simple-shuffle", "least-busy", "latency-based-routing"]

#: LiteLLM routing strategies that the gateway maps onto one of its own, with a warning.
ROUTING_ALIASES: dict[str, RoutingStrategy] = {
    "usage-based-routing": "simple-shuffle",
    "usage-based-routing-v2": "simple-shuffle",
    "cost-based-routing": "simple-shuffle",
}


class LiteLLMSection(BaseModel):
    """A LiteLLM section: known keys are typed, unknown ones are kept and reported by ``unknown_keys``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def unknown_keys(self) -> list[str]:
        return sorted((self.model_extra or {}).keys())


class LiteLLMParams(LiteLLMSection):
    model: str
    api_base: str | None = None
    api_key: SecretStr | None = None
    api_version: str | None = None
    organization: str | None = None
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)
    timeout: float | None = Field(default=None, gt=0)
    stream_timeout: float | None = Field(default=None, gt=0)
    weight: float = Field(default=1.0, ge=0)
    max_retries: int | None = Field(default=None, ge=0)
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)
    cache_read_input_token_cost: float | None = Field(default=None, ge=0)
    cache_creation_input_token_cost: float | None = Field(default=None, ge=0)
    input_cost_per_second: float | None = Field(default=None, ge=0)
    output_cost_per_second: float | None = Field(default=None, ge=0)
    extra_headers: dict[str, str] | None = None
    tags: list[str] | None = None  # tag routing (router_settings.enable_tag_filtering)
    # Request fields here (temperature, max_tokens...) are defaults sent unless a request sets them; the rest is
    # passed to the provider as-is when it goes through litellm (aws_region_name, vertex_project, ...).

    @field_validator("model")
    @classmethod
    def _model_has_provider(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("api_base")
    @classmethod
    def _base_is_a_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"must be an http(s) URL with a host, like http://127.0.0.1:8000/v1; got {value!r}")
        return value

    def provider_and_name(self) -> tuple[str, str]:
        """``openai/gpt-4o`` -> (``openai``, ``gpt-4o``). A bare name is an OpenAI model, as in LiteLLM."""
        provider, sep, name = self.model.partition("/")
        if not sep:
            return "openai", self.model
        return provider, name


class ModelInfo(LiteLLMSection):
    id: str | None = None
    mode: str | None = None
    base_model: str | None = None
    input_cost_per_token: float | None = Field(default=None, ge=0)
    output_cost_per_token: float | None = Field(default=None, ge=0)


class ModelEntry(LiteLLMSection):
    model_name: str
    litellm_params: LiteLLMParams
    model_info: ModelInfo = Field(default_factory=ModelInfo)
    # LiteLLM reads a deployment's limits here too; litellm_params.rpm/tpm win when both are set.
    rpm: int | None = Field(default=None, ge=0)
    tpm: int | None = Field(default=None, ge=0)

    @property
    def is_wildcard(self) -> bool:
        """``"*"`` or ``"provider/*"``: any matching requested name is routed to this entry's provider."""
        return "*" in self.model_name

    @field_validator("model_name")
    @classmethod
    def _name_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class RouterSettings(LiteLLMSection):
    num_retries: int = Field(default=2, ge=0, le=10)
    timeout: float = Field(default=600.0, gt=0)
    stream_timeout: float | None = Field(default=None, gt=0)
    fallbacks: list[dict[str, list[str]]] = Field(default_factory=list)
    default_fallbacks: list[str] = Field(default_factory=list)
    routing_strategy: str = "simple-shuffle"
    cooldown_time: float = Field(default=30.0, ge=0)
    allowed_fails: int = Field(default=3, ge=1)
    retry_after: float = Field(default=0.0, ge=0)
    enable_tag_filtering: bool = False
    tag_filtering_match_any: bool = True

    @field_validator("routing_strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        allowed = {"simple-shuffle", "least-busy", "latency-based-routing", *ROUTING_ALIASES}
        if value not in allowed:
            raise ValueError(f"unknown routing_strategy {value!r}; use one of {sorted(allowed)}")
        return value

    def strategy(self) -> RoutingStrategy:
        if self.routing_strategy in ROUTING_ALIASES:
            return ROUTING_ALIASES[self.routing_strategy]
        return self.routing_strategy  # type: ignore[return-value]

    def fallback_map(self) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {}
        for entry in self.fallbacks:
            for name, targets in entry.items():
                merged.setdefault(name, []).extend(targets)
        return merged


#: The shortest master key accepted. An empty one (``GATEWAY_MASTER_KEY=`` in a shell) would turn authentication
#: off while looking set, so it is an error, never "no key". 12 characters is the floor; generate 32 or more.
MIN_MASTER_KEY_LENGTH = 12


class GeneralSettings(LiteLLMSection):
    master_key: SecretStr | None = None
    database_url: SecretStr | None = None

    @field_validator("master_key")
    @classmethod
    def _master_key_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        """Leave the key out for no authentication; a blank or short one is a mistake, so the start stops."""
        if value is None:
            return None
        length = len(value.get_secret_value().strip())
        if length < MIN_MASTER_KEY_LENGTH:
            got = "an empty value" if length == 0 else f"{length} characters"
            raise ValueError(
                f"the master key must be at least {MIN_MASTER_KEY_LENGTH} characters (got {got}; if it comes from "
                "an environment variable, that variable is empty or short). Remove the setting for a local, "
                "keyless gateway"
            )
        return value


class LiteLLMSettings(LiteLLMSection):
    drop_params: bool | None = None
    request_timeout: float | None = Field(default=None, gt=0)
    num_retries: int | None = Field(default=None, ge=0)


CacheMode = Literal["off", "exact", "semantic"]


class CachePolicy(BaseModel):
    """What a model, team, key or prompt says about caching; a field left out keeps the broader setting."""

    model_config = ConfigDict(extra="forbid")

    mode: CacheMode | None = None
    ttl_seconds: float | None = Field(default=None, gt=0)
    threshold: float | None = Field(default=None, gt=0, le=1)  # cosine similarity a semantic hit needs
    delta: float | None = Field(default=None, gt=0, lt=1)  # adaptive mode: the wrong-hit bound it learns under
    multi_turn: bool | None = None  # semantic lookups for conversations with earlier turns
    tool_calls: bool | None = None  # store answers that call tools (and semantic lookups of tool traffic)


class CacheSettings(CachePolicy):
    """The response cache (docs/caching.md). ``gateway: {cache: semantic}`` turns it on with the defaults."""

    mode: CacheMode | None = "off"
    ttl_seconds: float | None = Field(default=3600.0, gt=0)
    threshold: float | None = Field(default=0.92, gt=0, le=1)
    multi_turn: bool | None = False
    tool_calls: bool | None = False
    scope: Literal["team", "key", "shared"] = "team"  # who shares entries: a key's team, the key, or everyone
    backend: Literal["auto", "memory", "redis"] = "auto"  # auto: Redis when gateway.redis_url is set
    max_entries: int = Field(default=10_000, gt=0)  # in-process exact entries (LRU)
    max_bytes: int = Field(default=64 * 1024 * 1024, gt=0)  # in-process bytes of answers (LRU)
    max_entry_bytes: int = Field(default=1024 * 1024, gt=0)  # a larger answer is not stored
    namespace_entries: int = Field(default=100_000, gt=0)  # semantic entries per namespace
    embedding_model: str | None = None  # a model of model_list to embed with; None: the local all-MiniLM-L6-v2
    lookup_timeout_ms: float = Field(default=50.0, gt=0, le=10_000)  # embed + search; later is a miss
    embedder_cpu_share: float = Field(default=0.25, gt=0, le=1)  # the local embedder's most, of one core
    explore_rate: float = Field(default=0.1, ge=0, le=1)  # adaptive: share of uncertain would-be hits checked
    answer_agreement: float = Field(default=0.9, gt=0, le=1)  # adaptive: answer similarity that counts as same
    models: dict[str, CachePolicy] = Field(default_factory=dict)  # by model name
    teams: dict[str, CachePolicy] = Field(default_factory=dict)  # by team id or name
    keys: dict[str, CachePolicy] = Field(default_factory=dict)  # by key id or name
    prompts: dict[str, CachePolicy] = Field(default_factory=dict)  # by prompt name

    @model_validator(mode="before")
    @classmethod
    def _mode_alone(cls, value: Any) -> Any:
        """``cache: semantic`` is ``cache: {mode: semantic}``."""
        return {"mode": value} if isinstance(value, str) else value


class TelemetrySettings(BaseModel):
    """Traces and metrics (docs/telemetry.md). Strict, like the rest of ``gateway:``."""

    model_config = ConfigDict(extra="forbid")

    # OTLP export of traces: this endpoint, else the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables;
    # tracing is off when none is set.
    otlp_endpoint: str | None = None
    otlp_protocol: Literal["http/protobuf", "grpc"] | None = None  # default: OTEL_EXPORTER_OTLP_PROTOCOL, else http
    otlp_headers: dict[str, SecretStr] = Field(default_factory=dict)
    sample_ratio: float | None = Field(default=None, ge=0, le=1)  # default: OTEL_TRACES_SAMPLER(_ARG), else all
    capture_content: bool = False  # message content on spans (gen_ai.input/output.messages): opt-in
    service_name: str = "llmops-gateway"
    metrics: bool = True  # Prometheus metrics on GET /metrics
    # A bearer token that may read /metrics (and nothing else), for a scraper that must not hold the master key.
    metrics_token: SecretStr | None = None


class GatewaySection(BaseModel):
    """The gateway's own settings. Strict: a typo here stops the start."""

    model_config = ConfigDict(extra="forbid")

    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0)
    redis_url: SecretStr | None = None
    retry_backoff_base: float = Field(default=0.25, ge=0)
    retry_backoff_max: float = Field(default=8.0, ge=0)
    max_retry_after: float = Field(default=30.0, ge=0)
    upstream_pool_size: int = Field(default=512, gt=0)
    prompt_refresh_seconds: float = Field(default=2.0, ge=0, le=600)  # 0: only on invalidation messages
    # The request log's background writer (docs/costs.md, "The request log").
    log_spill_path: str | None = None  # default: next to a SQLite file, else ./gateway-spill.jsonl
    log_batch_size: int = Field(default=500, gt=0, le=10_000)
    log_flush_interval: float = Field(default=0.2, gt=0, le=60)
    log_queue_size: int = Field(default=10_000, gt=0)
    # Keys and limits (docs/keys-and-limits.md).
    key_refresh_seconds: float = Field(default=0.5, gt=0, le=60)
    redis_key_prefix: str = Field(default="gateway:", min_length=1)
    budget_alert_webhook: str | None = None
    #: What a key or team with a budget may do with a model that has no known price (docs/keys-and-limits.md).
    budget_unpriced_models: Literal["refuse", "allow"] = "refuse"
    # The HTTP server (docs: "Server timeouts and caps", "Shutdown"). Per worker process.
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)  # first byte of a request to its last header
    body_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)  # last header to the body's last byte
    keep_alive_seconds: float = Field(default=5.0, gt=0, le=600)  # an idle keep-alive connection is closed after
    max_connections: int = Field(default=2048, gt=0)  # open connections; more are answered 503 and closed
    max_url_bytes: int = Field(default=16 * 1024, ge=1024)  # a longer request target gets 414
    max_header_bytes: int = Field(default=64 * 1024, ge=4096)  # larger headers in total get 431
    shutdown_grace_seconds: float = Field(default=30.0, ge=0, le=3600)  # requests may finish; then streams end
    cache: CacheSettings = Field(default_factory=CacheSettings)  # the response cache (docs/caching.md)
    # Guardrail policies and who they apply to (docs/guardrails.md).
    guardrails: GuardrailsSection = Field(default_factory=GuardrailsSection)
    # The Responses API's stored responses (docs/endpoints.md, "Responses API").
    responses_store: bool = True  # keep responses (unless a request says store: false) for previous_response_id
    responses_retention_days: float = Field(default=30.0, gt=0, le=3650)  # then a background task deletes them
    telemetry: TelemetrySettings = Field(default_factory=TelemetrySettings)


class GatewayConfig(BaseSettings):
    """The whole file, as one typed settings object.

    Environment variables override the file: ``GATEWAY_ROUTER_SETTINGS__NUM_RETRIES=3`` sets
    ``router_settings.num_retries`` (handy in containers).
    """

    model_config = SettingsConfigDict(
        extra="forbid", env_prefix="GATEWAY_", env_nested_delimiter="__", case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (env_settings, init_settings)

    model_list: list[ModelEntry] = Field(default_factory=list)
    router_settings: RouterSettings = Field(default_factory=RouterSettings)
    general_settings: GeneralSettings = Field(default_factory=GeneralSettings)
    litellm_settings: LiteLLMSettings = Field(default_factory=LiteLLMSettings)
    # LiteLLM sets these in the process environment, as strings; YAML may give numbers or booleans.
    environment_variables: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    gateway: GatewaySection = Field(default_factory=GatewaySection)

    @model_validator(mode="after")
    def _fallbacks_name_known_models(self) -> GatewayConfig:
        names = {entry.model_name for entry in self.model_list if not entry.is_wildcard}
        for source, targets in self.router_settings.fallback_map().items():
            for target in [source, *targets]:
                if target not in names:
                    raise ValueError(
                        f"router_settings.fallbacks names model {target!r}, which no model_list entry defines"
                    )
        for target in self.router_settings.default_fallbacks:
            if target not in names:
                raise ValueError(f"router_settings.default_fallbacks names unknown model {target!r}")
        return self

    def unimplemented_keys(self) -> list[str]:
        """Dotted names of LiteLLM keys the gateway accepts but does not act on."""
        found: list[str] = []
        for section in ("router_settings", "general_settings", "litellm_settings"):
            found += [f"{section}.{key}" for key in getattr(self, section).unknown_keys()]
        # litellm_params extras are provider parameters (aws_region_name, vertex_project...) handed to litellm,
        # and model_info is free-form metadata in LiteLLM too, so neither is reported.
        for index, entry in enumerate(self.model_list):
            found += [f"model_list[{index}].{key}" for key in entry.unknown_keys()]
        return found

    def extra_provider_params(self, entry: ModelEntry) -> dict[str, Any]:
        """litellm_params that only matter to litellm (aws_region_name, vertex_project, ...)."""
        return dict(entry.litellm_params.model_extra or {})
