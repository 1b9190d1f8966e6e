"""Load the configuration file into a validated ``GatewayConfig``.

Every problem stops the start with one message that names the file, the line, the key and the problem, e.g.::

    config.yaml:12: model_list[1].litellm_params.rpm: Input should be greater than or equal to 0

``os.environ/NAME`` values are resolved here (LiteLLM's syntax), so a missing variable is a start-up error and
never a request-time surprise. Environment variables ``GATEWAY_<SECTION>__<KEY>`` override the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from gateway.config.litellm_compat import (
    LITELLM_ONLY_SECTIONS,
    advice,
    ignored_settings,
    typed_but_unused,
    unused_provider_params,
)
from gateway.config.models import GatewayConfig, GeneralSettings, LiteLLMSettings, ModelEntry, RouterSettings
from gateway.errors import ConfigError

logger = logging.getLogger("gateway.config")

ENV_PREFIX = "os.environ/"

Path_ = tuple[str | int, ...]


def load_config(path: str | Path, environ: Mapping[str, str] | None = None) -> GatewayConfig:
    """Read, resolve and validate ``path``. Raises ``ConfigError`` naming the file and line."""
    source = Path(path)
    env = dict(os.environ if environ is None else environ)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the config file: {exc.strerror or exc}") from exc
    data, lines = _parse(source, text)
    ignored = set(ignored_settings(data, _SECTIONS))
    for section in sorted(LITELLM_ONLY_SECTIONS & data.keys()):
        logger.warning(
            "%s:%d: section %r is LiteLLM's and is not implemented by the gateway; ignored%s",
            source, _line_for(lines, (section,)), section, advice(section),
        )
        data.pop(section)
    env.update({k: _env_text(v) for k, v in (data.get("environment_variables") or {}).items() if v is not None})
    missing: list[str] = []
    data = _resolve_env(data, (), env, ignored, missing, lines)
    if missing:
        raise ConfigError(
            f"{len(missing)} environment variable(s) the config uses are not set:\n  "
            + "\n  ".join(f"{source}:{line}" for line in missing)
        )
    try:
        config = GatewayConfig(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, source, lines)) from exc
    for key in config.unimplemented_keys():
        logger.warning(
            "%s: %s is a LiteLLM setting the gateway does not implement; ignored%s", source, key, advice(key)
        )
    for note in typed_but_unused(config):
        logger.warning("%s: %s", source, note)
    for key in unused_provider_params(config):
        logger.warning(
            "%s: %s is a provider setting only litellm reads, and this deployment takes the fast path "
            "(OpenAI-compatible, without litellm); ignored", source, key,
        )
    return config


def load_database_url(path: str | Path, environ: Mapping[str, str] | None = None) -> str | None:
    """Only ``general_settings.database_url`` of ``path``, resolved: for commands that read the database and nothing
    else (``gateway costs report``), so the provider keys the config names need not be set. ``ConfigError`` when
    the file cannot be read or parsed, or the setting names a variable that is not set."""
    source = Path(path)
    data, lines = read_yaml(source)
    env = dict(os.environ if environ is None else environ)
    env.update({k: _env_text(v) for k, v in (data.get("environment_variables") or {}).items() if v is not None})
    general = data.get("general_settings")
    value = general.get("database_url") if isinstance(general, dict) else None
    if value is None:
        return None
    missing: list[str] = []
    resolved = _resolve_env(value, ("general_settings", "database_url"), env, set(), missing, lines)
    if missing:
        raise ConfigError(f"{source}:{missing[0]}")
    return str(resolved)


def read_yaml(source: Path) -> tuple[dict[str, Any], dict[Path_, int]]:
    """A YAML mapping file and the line of every key in it (for messages that name ``file:line: key``)."""
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read the file: {exc.strerror or exc}") from exc
    return _parse(source, text)


def describe(exc: ValidationError, source: Path, lines: Mapping[Path_, int]) -> str:
    """One line per problem of ``exc``, each naming ``file:line: key``."""
    return _describe(exc, source, lines)


#: The sections whose unknown keys the gateway ignores, and the model that knows their keys.
_SECTIONS: dict[str, type[BaseModel]] = {
    "router_settings": RouterSettings,
    "general_settings": GeneralSettings,
    "litellm_settings": LiteLLMSettings,
    "model_list": ModelEntry,
}


def _env_text(value: object) -> str:
    """A value under ``environment_variables`` as the process environment holds it (YAML gives numbers and
    booleans; LiteLLM accepts them)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _parse(source: Path, text: str) -> tuple[dict[str, Any], dict[Path_, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise ConfigError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: the config must be a mapping of sections, got {type(data).__name__}")
    lines = dict(_walk(node, ())) if node is not None else {}
    return data, lines


def _walk(node: yaml.Node, path: Path_) -> Iterator[tuple[Path_, int]]:
    yield path, node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            yield (*path, key), key_node.start_mark.line + 1
            yield from _walk(value_node, (*path, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _walk(item, (*path, index))


def _line_for(lines: Mapping[Path_, int], loc: Path_) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _dotted(loc: Path_) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(exc: ValidationError, source: Path, lines: Mapping[Path_, int]) -> str:
    problems = []
    for error in exc.errors():
        loc: Path_ = tuple(p for p in error["loc"] if isinstance(p, str | int))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (not a setting of this section; check the spelling)"
        problems.append(f"{source}:{_line_for(lines, loc)}: {_dotted(loc)}: {message}")
    return "invalid configuration:\n  " + "\n  ".join(problems)


def _resolve_env(
    value: Any, loc: Path_, env: Mapping[str, str], ignored: set[Path_], missing: list[str], lines: Mapping[Path_, int]
) -> Any:
    """``value`` with its ``os.environ/NAME`` references replaced; every unset one is added to ``missing``
    (``<line>: <key>: ...``), so that one error names them all. Settings the gateway ignores are left as they are:
    a variable only they use is not required."""
    if loc in ignored:
        return value
    if isinstance(value, dict):
        return {k: _resolve_env(v, (*loc, str(k)), env, ignored, missing, lines) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve_env(v, (*loc, i), env, ignored, missing, lines) for i, v in enumerate(value)]
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        name = value[len(ENV_PREFIX) :]
        if name not in env:
            missing.append(f"{_line_for(lines, loc)}: {_dotted(loc)}: environment variable {name} is not set")
            return value
        return env[name]
    return value
