"""The session gateway's config: fast-path, litellm and deliberately broken deployments on one fake provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.servers import FakeProvider

MASTER_KEY = "sk-test-master"


def base_config(fake: FakeProvider, tmp: Path, **sections: Any) -> dict[str, Any]:
    """A config with fast-path, litellm and deliberately broken deployments on the fake provider."""
    model_list = [
        _model("gpt-4o-mini", "openai/gpt-4o-mini", fake.v1),
        _model("text-embedding-3-small", "openai/text-embedding-3-small", fake.v1),
        _model("claude-sonnet", "anthropic/claude-3-5-sonnet-20241022", fake.url),
        _model("flaky", "openai/flaky-model", fake.v1),
        _model("always-503", "openai/fail-503", fake.v1),
        _model("always-400", "openai/fail-400", fake.v1),
        _model("always-429", "openai/fail-429", fake.v1),
        _model("always-429-b", "openai/fail-429-b", fake.v1),
        _model("always-500", "openai/fail-500", fake.v1),
        _model("unavailable", "openai/fail-503-b", fake.v1),
        _model("backup", "openai/backup-model", fake.v1),
        _model("slow", "openai/slow-3000", fake.v1, timeout=0.5),
        _model("slow-b", "openai/slow-3000-b", fake.v1, timeout=0.5),
        _model("cut", "openai/cut-2", fake.v1),
        _model("hang", "openai/slow-5000-hang", fake.v1),
    ]
    config: dict[str, Any] = {
        "model_list": model_list,
        "router_settings": {
            "num_retries": 2,
            "fallbacks": [{"always-503": ["backup"]}],
            "cooldown_time": 30,
            "allowed_fails": 3,
        },
        "general_settings": {"master_key": MASTER_KEY, "database_url": f"sqlite:///{tmp / 'gateway.db'}"},
        "gateway": {"retry_backoff_base": 0.01, "retry_backoff_max": 0.05},
    }
    for name, values in sections.items():
        config[name] = {**config.get(name, {}), **values}
    return config


def _model(name: str, model: str, api_base: str, **params: Any) -> dict[str, Any]:
    return {"model_name": name, "litellm_params": {"model": model, "api_base": api_base, "api_key": "fake", **params}}
