"""The parsed shape of an eval suite: what the loader produces and the runner consumes.

Everything here is immutable and already validated: assertion values have been rendered with the case's vars,
files referenced by the suite have been found, and every field has its default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCAL_EMBEDDING = "local:minilm"


class SuiteError(Exception):
    """A suite file that cannot be run. The message names the file, the case and the field."""


@dataclass(frozen=True, slots=True)
class AssertionSpec:
    type: str  # without the ``not-`` prefix
    negate: bool = False
    value: Any = None
    threshold: float | None = None
    weight: float = 1.0
    metric: str = ""
    provider: str | None = None  # judge or embedding model for model-assisted assertions
    base_dir: Path = Path(".")  # where ``python`` and ``file://`` values are looked up

    @property
    def label(self) -> str:
        return ("not-" if self.negate else "") + self.type


@dataclass(frozen=True, slots=True)
class Case:
    id: str
    description: str | None
    vars: dict[str, Any]
    asserts: tuple[AssertionSpec, ...]
    threshold: float | None = None  # min weighted score for the case; None: every assertion must pass
    request: dict[str, Any] = field(default_factory=dict)  # extra body fields (temperature, tools, ...)


@dataclass(frozen=True, slots=True)
class Threshold:
    pass_rate: float = 1.0
    mean_score: float | None = None

    def as_dict(self) -> dict[str, float]:
        out = {"pass_rate": self.pass_rate}
        if self.mean_score is not None:
            out["mean_score"] = self.mean_score
        return out


@dataclass(frozen=True, slots=True)
class SuiteOptions:
    judge: str | None = None  # model name in the gateway config for llm-rubric / factuality
    embedding: str = LOCAL_EMBEDDING  # ``local:minilm`` or an embedding model in the gateway config


@dataclass(frozen=True, slots=True)
class Suite:
    name: str
    path: Path
    prompt: str
    cases: tuple[Case, ...]
    content_hash: str
    description: str | None = None
    models: tuple[str, ...] = ()
    threshold: Threshold = Threshold()
    options: SuiteOptions = SuiteOptions()
