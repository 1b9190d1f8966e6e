"""docker-compose.yml and its telemetry services, checked by parsing (no Docker on the test machines): the
gateway's traces reach Jaeger through the collector, Prometheus scrapes every replica with the token the gateway
accepts, and the compose config of the gateway is a valid gateway config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gateway.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> Any:
    return yaml.safe_load((ROOT / path).read_text())


def test_compose_runs_a_collector_jaeger_and_prometheus_wired_to_the_gateway() -> None:
    services = load("docker-compose.yml")["services"]
    assert {"gateway", "otel-collector", "jaeger", "prometheus"} <= set(services)
    for name, source in (("otel-collector", "./deploy/otel-collector.yaml"), ("prometheus", "./deploy/prometheus.yml")):
        mounted = [volume.split(":")[0] for volume in services[name]["volumes"]]
        assert source in mounted and (ROOT / source).exists()
    assert "16686:16686" in services["jaeger"]["ports"] and "9090:9090" in services["prometheus"]["ports"]
    token = services["gateway"]["environment"]["GATEWAY_METRICS_TOKEN"]
    scrape = load("deploy/prometheus.yml")["scrape_configs"][0]
    assert scrape["metrics_path"] == "/metrics"
    assert token == "${GATEWAY_METRICS_TOKEN:-" + scrape["authorization"]["credentials"] + "}"
    assert scrape["dns_sd_configs"][0]["names"] == ["gateway"] and scrape["dns_sd_configs"][0]["port"] == 4000


def test_the_collector_passes_traces_from_otlp_to_jaeger() -> None:
    collector = load("deploy/otel-collector.yaml")
    protocols = collector["receivers"]["otlp"]["protocols"]
    assert protocols["http"]["endpoint"].endswith(":4318") and protocols["grpc"]["endpoint"].endswith(":4317")
    traces = collector["service"]["pipelines"]["traces"]
    assert traces["receivers"] == ["otlp"]
    jaeger = [name for name in traces["exporters"] if name.startswith("otlp/")]
    assert jaeger and collector["exporters"][jaeger[0]]["endpoint"] == "jaeger:4317"


def test_the_compose_config_sends_traces_to_the_collector(monkeypatch: Any) -> None:
    monkeypatch.setenv("GATEWAY_MASTER_KEY", "sk-gw-compose-check")
    monkeypatch.setenv("GATEWAY_METRICS_TOKEN", "scrape-change-me")
    telemetry = load_config(str(ROOT / "config" / "compose.yaml")).gateway.telemetry
    assert telemetry.otlp_endpoint == "http://otel-collector:4318"
    assert telemetry.metrics and telemetry.metrics_token is not None
    assert telemetry.metrics_token.get_secret_value() == "scrape-change-me"
