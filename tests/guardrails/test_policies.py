"""Loading policies: a problem stops the start with the file, the line and the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config.guardrails import GuardrailsSection
from gateway.errors import ConfigError
from gateway.guardrails.detectors.registry import build_detector
from gateway.guardrails.policy import load_policies


def _load(section: GuardrailsSection, base: Path) -> object:
    return load_policies(section, lambda spec: build_detector(spec.type, spec.options, None), base)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_a_policy_file_loads_with_its_file_name_as_name(tmp_path: Path) -> None:
    _write(tmp_path, "pii.yaml", "input:\n  - type: pii\n    action: mask\n")
    policies = _load(GuardrailsSection(policies=["*.yaml"], default=["pii"]), tmp_path)
    assert list(policies) == ["pii"]  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input:\n  - type: pii\n    action: shout\n", "pii.yaml:3: input[0].action"),
        ("input:\n  - type: pii\n  - type: pii\n    entities: [passport]\n", "pii.yaml:3: input[1]: pii: unknown PII"),
        ("output:\n  - type: json_schema\n    action: redact\n", "judges whole texts"),
        ("input:\n  - type: nonsense\n", "unknown guardrail type 'nonsense'"),
        ("input:\n  - type: words\n    patterns: ['(']\n", "not a valid regular expression"),
    ],
)
def test_problems_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path, "pii.yaml", text)
    with pytest.raises(ConfigError) as raised:
        _load(GuardrailsSection(policies=["pii.yaml"]), tmp_path)
    assert message in str(raised.value)


def test_an_attachment_to_an_unknown_policy_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gateway.guardrails.keys.bot: unknown guardrail policy 'nope'"):
        _load(GuardrailsSection(policies=[{"name": "a", "input": []}], keys={"bot": ["nope"]}), tmp_path)


def test_check_config_loads_the_policies_and_names_a_bad_one(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\ngateway:\n  guardrails:\n    policies: ['guardrails/*.yaml']\n")
    (tmp_path / "guardrails").mkdir()
    _write(tmp_path / "guardrails", "pii.yaml", "input:\n  - type: pii\n")
    command = [sys.executable, "-m", "gateway", "check-config", str(config)]
    good = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert good.returncode == 0, good.stderr
    assert "1 guardrail policies" in good.stdout
    _write(tmp_path / "guardrails", "bad.yaml", "output:\n  - type: secrets\n    action: explode\n")
    bad = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert "bad.yaml:3: output[0].action" in bad.stderr
