"""LiteLLM configs mean what they say: environment values, missing variables, ignored settings and their warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from gateway.config import load_config
from gateway.errors import ConfigError

CONFIG = """\
model_list:
  - model_name: a
    litellm_params:
      model: openai/a
      api_key: os.environ/KEY_A
      temperature: 0.2
    rpm: 3
  - model_name: b
    litellm_params:
      model: anthropic/b
      api_key: os.environ/KEY_B
      tags: ["paid"]
router_settings:
  redis_host: os.environ/REDIS_HOST
  enable_tag_filtering: true
litellm_settings:
  cache: true
  default_team_settings:
    - team_id: t
      langfuse_secret: os.environ/LANGFUSE_SECRET
general_settings:
  master_key: os.environ/MASTER
finetune_settings:
  - api_key: os.environ/FINETUNE_KEY
environment_variables:
  REDIS_PORT: 6329
  VERBOSE: true
  RATIO: 0.5
  EMPTY:
"""


def write(tmp_path: Path, text: str = CONFIG) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_every_missing_variable_is_named_in_one_error_with_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path), {})
    message = str(caught.value)
    assert "3 environment variable(s)" in message
    assert "config.yaml:5: model_list[0].litellm_params.api_key: environment variable KEY_A is not set" in message
    assert "config.yaml:11: model_list[1].litellm_params.api_key: environment variable KEY_B is not set" in message
    assert "config.yaml:22: general_settings.master_key: environment variable MASTER is not set" in message


def test_variables_only_ignored_settings_use_are_not_required(tmp_path: Path) -> None:
    config = load_config(write(tmp_path), {"KEY_A": "a", "KEY_B": "b", "MASTER": "sk-master-123456"})
    assert config.model_list[1].litellm_params.tags == ["paid"]
    assert config.router_settings.enable_tag_filtering is True
    assert config.model_list[0].rpm == 3


def test_environment_variables_may_be_numbers_booleans_or_empty(tmp_path: Path) -> None:
    env = {"KEY_A": "a", "KEY_B": "b", "MASTER": "sk-master-123456"}
    text = CONFIG.replace("os.environ/KEY_A", "os.environ/REDIS_PORT")
    config = load_config(write(tmp_path, text), env)
    assert config.model_list[0].litellm_params.api_key is not None
    assert config.model_list[0].litellm_params.api_key.get_secret_value() == "6329"
    assert config.environment_variables["VERBOSE"] is True


def test_warnings_name_what_is_ignored_and_the_gateways_equivalent(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        load_config(write(tmp_path), {"KEY_A": "a", "KEY_B": "b", "MASTER": "sk-master-123456"})
    text = caplog.text
    assert "router_settings.redis_host" in text and "equivalent: gateway.redis_url" in text
    assert "litellm_settings.cache" in text and "response cache" in text
    assert "'finetune_settings'" in text
    assert "rpm" not in text  # a top-level rpm is honoured, not ignored


def test_settings_served_differently_say_what_the_gateway_does_instead(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = """\
model_list:
  - model_name: a
    litellm_params: {model: openai/a, max_retries: 3, region_name: eu, input_cost_per_second: 0.1}
router_settings:
  routing_strategy: usage-based-routing-v2
litellm_settings:
  num_retries: 5
"""
    with caplog.at_level(logging.WARNING, logger="gateway.config"):
        load_config(write(tmp_path, text), {})
    log = caplog.text
    assert "'usage-based-routing-v2' is served as 'simple-shuffle'" in log
    assert "litellm_settings.num_retries is ignored; the gateway's equivalent: router_settings.num_retries" in log
    assert "model_list[0].litellm_params.max_retries is ignored" in log
    assert "model_list[0].litellm_params.input_cost_per_second is ignored" in log
    assert "model_list[0].litellm_params.region_name is a provider setting only litellm reads" in log
