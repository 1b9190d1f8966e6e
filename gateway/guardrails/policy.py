"""Guardrail policies: their YAML shape, and loading them with errors that name ``file:line: key``.

A policy file (``guardrails/pii.yaml``)::

    name: pii                  # default: the file's name without .yaml
    input:                     # pre_call: the request's text, before the upstream sees it
      - type: pii
        action: mask           # block | redact | mask | warn
        entities: [email, phone]
    output:                    # post_call on whole answers, during_stream on streams
      - type: secrets
        action: block
        timeout_ms: 200        # the detector's deadline (default 2000; 10000 for prompt_injection)...
        fail_open: false       # ...unless this is true (then it goes on, and the failure is logged)

Every key other than the common ones (``type``, ``name``, ``action``, ``timeout_ms``, ``fail_open``, ``roles``) is
an option of the detector (``entities``, ``words``, ``threshold``...); the detector refuses one it does not know,
and the start stops with the file and line.
"""

from __future__ import annotations

import glob
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gateway.config.guardrails import GuardrailsSection
from gateway.config.loader import Path_, describe, read_yaml
from gateway.errors import ConfigError
from gateway.guardrails.detectors.base import Detector

Action = Literal["block", "redact", "mask", "warn"]
Side = Literal["input", "output"]
#: The options every guardrail has; the rest go to its detector.
COMMON = frozenset({"type", "name", "action", "timeout_ms", "fail_open", "roles"})
DEFAULT_TIMEOUT_MS = 2000.0
#: The injection classifier runs MiniLM on every 150-word window: ~0.1-0.5 s a window on one busy core.
SLOW_TIMEOUT_MS = {"prompt_injection": 10_000.0}


class GuardrailSpec(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    name: str | None = None
    action: Action = "block"
    timeout_ms: float | None = Field(default=None, gt=0, le=60_000)  # default: DEFAULT_TIMEOUT_MS or SLOW_...
    fail_open: bool = False
    #: Which messages' text it reads (chat roles); None: all. Injection checks default to user and tool text.
    roles: list[str] | None = None

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class PolicySpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str | None = None
    input: list[GuardrailSpec] = Field(default_factory=list)
    output: list[GuardrailSpec] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Guardrail:
    """One loaded guardrail: its spec, which policy and side it belongs to, and its detector."""

    name: str
    policy: str
    side: Side
    action: Action
    detector: Detector
    timeout: float  # seconds
    fail_open: bool
    roles: frozenset[str] | None


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    input: tuple[Guardrail, ...]
    output: tuple[Guardrail, ...]
    source: str


DetectorFactory = Callable[[GuardrailSpec], Detector]


def load_policies(section: GuardrailsSection, build: DetectorFactory, base: Path | None = None) -> dict[str, Policy]:
    """Every policy the section names, by name; a ``ConfigError`` naming file, line and key for any problem."""
    policies: dict[str, Policy] = {}
    for index, entry in enumerate(section.policies):
        for data, source, lines in _documents(entry, index, base or Path.cwd()):
            policy = _policy(data, source, lines, build)
            if policy.name in policies:
                raise ConfigError(
                    f"{source}: policy name {policy.name!r} is also used by {policies[policy.name].source}"
                )
            policies[policy.name] = policy
    _check_references(section, policies)
    return policies


def _documents(
    entry: str | dict[str, Any], index: int, base: Path
) -> Iterator[tuple[dict[str, Any], str, Mapping[Path_, int]]]:
    if isinstance(entry, dict):
        yield entry, f"gateway.guardrails.policies[{index}]", {}
        return
    paths = sorted(glob.glob(str(base / entry))) if any(c in entry for c in "*?[") else [str(base / entry)]
    if not paths:
        raise ConfigError(f"gateway.guardrails.policies[{index}]: no policy file matches {entry!r} (from {base})")
    for path in paths:
        data, lines = read_yaml(Path(path))
        data.setdefault("name", Path(path).stem)
        yield data, path, lines


def _policy(data: dict[str, Any], source: str, lines: Mapping[Path_, int], build: DetectorFactory) -> Policy:
    try:
        spec = PolicySpec(**data)
    except ValidationError as exc:
        raise ConfigError(describe(exc, Path(source), lines)) from exc
    sides: dict[Side, list[Guardrail]] = {"input": [], "output": []}
    for side, specs in (("input", spec.input), ("output", spec.output)):
        names: set[str] = set()
        for index, item in enumerate(specs):
            where = f"{source}:{lines.get((side, index), 1)}: {side}[{index}]"
            guardrail = _guardrail(item, spec.name, side, build, where)  # type: ignore[arg-type]
            if guardrail.name in names:
                raise ConfigError(f"{where}: two guardrails named {guardrail.name!r}; give one a `name`")
            names.add(guardrail.name)
            sides[side].append(guardrail)  # type: ignore[index]
    return Policy(spec.name, tuple(sides["input"]), tuple(sides["output"]), source)


def _guardrail(item: GuardrailSpec, policy: str, side: Side, build: DetectorFactory, where: str) -> Guardrail:
    try:
        detector = build(item)
    except (TypeError, ValueError, LookupError, ImportError) as exc:
        raise ConfigError(f"{where}: {item.type}: {exc}") from exc
    if item.action in ("redact", "mask") and not detector.spans:
        raise ConfigError(
            f"{where}: {item.type} judges whole texts; its action can be block or warn, not {item.action}"
        )
    kind = item.type.replace("-", "_")
    roles = item.roles if item.roles is not None else (["user", "tool"] if kind == "prompt_injection" else None)
    return Guardrail(
        name=item.name or item.type,
        policy=policy,
        side=side,
        action=item.action,
        detector=detector,
        timeout=(item.timeout_ms or SLOW_TIMEOUT_MS.get(kind, DEFAULT_TIMEOUT_MS)) / 1000,
        fail_open=item.fail_open,
        roles=frozenset(roles) if roles is not None else None,
    )


def _check_references(section: GuardrailsSection, policies: Mapping[str, Policy]) -> None:
    named = [("gateway.guardrails.default", section.default)]
    named += [
        (f"gateway.guardrails.{kind}.{who}", names) for kind, m in section.attached.items() for who, names in m.items()
    ]
    for where, names in named:
        for name in names:
            if name not in policies:
                raise ConfigError(f"{where}: unknown guardrail policy {name!r}; loaded: {sorted(policies) or 'none'}")
