"""The config file: LiteLLM's format accepted, and every mistake named with its file and line."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError

LITELLM_CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/TEST_OPENAI_KEY
      rpm: 100
      tpm: 10000
      timeout: 30
      weight: 2
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
  - model_name: claude
    litellm_params:
      model: anthropic/claude-3-5-sonnet-20241022
      api_key: os.environ/TEST_ANTHROPIC_KEY
router_settings:
  num_retries: 3
  timeout: 45
  routing_strategy: least-busy
  cooldown_time: 10
  fallbacks: [{"gpt-4o": ["claude"]}]
  enable_pre_call_checks: true
general_settings:
  master_key: os.environ/TEST_MASTER
  database_url: sqlite:///x.db
litellm_settings:
  drop_params: true
  success_callback: ["langfuse"]
"""
ENV = {"TEST_OPENAI_KEY": "sk-o", "TEST_ANTHROPIC_KEY": "sk-a", "TEST_MASTER": "sk-m-1234567890"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_litellm_proxy_config_is_accepted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        config = load_config(write(tmp_path, LITELLM_CONFIG), ENV)
    entry = config.model_list[0]
    assert entry.litellm_params.api_key is not None and entry.litellm_params.api_key.get_secret_value() == "sk-o"
    assert (entry.litellm_params.rpm, entry.litellm_params.weight) == (100, 2)
    assert config.router_settings.fallback_map() == {"gpt-4o": ["claude"]}
    assert config.router_settings.strategy() == "least-busy"
    assert "router_settings.enable_pre_call_checks" in caplog.text
    assert "litellm_settings.success_callback" in caplog.text
    assert "sk-o" not in caplog.text and "sk-m-1234567890" not in repr(config)


def test_missing_environment_variable_names_the_line_and_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG), {"TEST_OPENAI_KEY": "x", "TEST_MASTER": "y"})
    assert "config.yaml:15" in str(caught.value)
    assert "TEST_ANTHROPIC_KEY" in str(caught.value)


def test_bad_value_names_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG.replace("rpm: 100", "rpm: -5")), ENV)
    message = str(caught.value)
    assert "config.yaml:6: model_list[0].litellm_params.rpm" in message
    assert "greater than or equal to 0" in message


def test_unknown_key_in_the_gateway_section_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG + "gateway:\n  max_body_byte: 10\n"), ENV)
    assert "config.yaml:30: gateway.max_body_byte: unknown key" in str(caught.value)


def test_unknown_top_level_section_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG + "routr_settings: {}\n"), ENV)
    assert "routr_settings" in str(caught.value)


def test_fallback_to_an_undefined_model_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG.replace('["claude"]', '["claud"]')), ENV)
    assert "claud" in str(caught.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, "model_list:\n  - model_name: [unclosed\n"), ENV)
    assert "config.yaml:" in str(caught.value) and "invalid YAML" in str(caught.value)


def test_unknown_routing_strategy_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, LITELLM_CONFIG.replace("least-busy", "fastest")), ENV)
    assert "routing_strategy" in str(caught.value)


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_ROUTER_SETTINGS__NUM_RETRIES", "7")
    assert load_config(write(tmp_path, LITELLM_CONFIG), ENV).router_settings.num_retries == 7


def test_serve_refuses_to_start_half_configured(tmp_path: Path) -> None:
    path = write(tmp_path, LITELLM_CONFIG.replace("rpm: 100", "rpm: lots"))
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "serve", "--config", str(path), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **ENV},
    )
    assert result.returncode == 2
    assert "config.yaml:6: model_list[0].litellm_params.rpm" in result.stderr


def test_check_config_lists_the_models(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "check-config", str(write(tmp_path, LITELLM_CONFIG))],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", **ENV},
    )
    assert result.returncode == 0, result.stderr
    assert "gpt-4o: openai/gpt-4o" in result.stdout


def test_api_base_without_a_host_is_an_error(tmp_path: Path) -> None:
    text = LITELLM_CONFIG.replace("      rpm: 100\n", "      api_base: /v1\n      rpm: 100\n", 1)
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text), ENV)
    assert "model_list[0].litellm_params.api_base: Value error, must be an http(s) URL" in str(caught.value)
