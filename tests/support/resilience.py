"""Helpers of the resilience suite: its gateway config, and what the request log holds in a database."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from support.servers import FakeProvider

MASTER_KEY = "sk-test-master"
#: Seconds a gateway may take to start: generous, for a busy CI machine (it takes ~2 s on an idle one).
READY = 90.0


def resilience_config(upstream: FakeProvider, database_url: str, spill: Path, **gateway: Any) -> dict[str, Any]:
    """Fast-path models only: ``primary`` falls back to ``backup``; ``slow`` answers after 1.5 s."""

    def model(name: str, upstream_model: str, **params: Any) -> dict[str, Any]:
        return {"model_name": name, "litellm_params": {"model": f"openai/{upstream_model}", "api_base": upstream.v1,
                                                       "api_key": "fake", **params}}

    return {
        "model_list": [
            model("primary", "gpt-4o-mini", timeout=1.0),
            model("backup", "backup-model"),
            model("slow", "slow-1500"),
            model("quick", "slow-300"),
        ],
        "router_settings": {"num_retries": 2, "fallbacks": [{"primary": ["backup"]}], "allowed_fails": 1000,
                            "cooldown_time": 1},
        "general_settings": {"master_key": MASTER_KEY, "database_url": database_url},
        "gateway": {"retry_backoff_base": 0.01, "retry_backoff_max": 0.05, "log_spill_path": str(spill),
                    "log_flush_interval": 0.1, **gateway},
    }


def logged_ids(database_url: str) -> set[str]:
    with psycopg.connect(database_url, connect_timeout=3) as connection:
        return {row[0] for row in connection.execute("SELECT request_id FROM request_logs")}


def wait_for_ids(database_url: str, expected: set[str], timeout: float = 30.0) -> set[str]:
    """The ids logged once ``expected`` are all there, or when ``timeout`` runs out."""
    deadline = time.monotonic() + timeout
    found: set[str] = set()
    while time.monotonic() < deadline:
        try:
            found = logged_ids(database_url)
        except psycopg.Error:
            found = set()
        if expected <= found:
            return found
        time.sleep(0.2)
    return found
