"""The ``gateway.guardrails`` section: which policy files load, and which policies apply to whom.

Policies themselves (what each guardrail checks, and what it does) are YAML files, ``guardrails/*.yaml`` by
default, or written inline here; ``gateway.guardrails.policy`` validates them. This section only attaches them:
``default`` to every request, ``keys`` / ``teams`` by name or id, ``models`` by model name, ``prompts`` by prompt
name. A request gets the union; its body's ``guardrails: [...]`` may add policies, never remove one.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PolicyNames = list[str]


class GuardrailsSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Policy files (paths or globs, relative to the working directory) and inline policies (mappings).
    policies: list[str | dict[str, Any]] = Field(default_factory=list)
    default: PolicyNames = Field(default_factory=list)
    keys: dict[str, PolicyNames] = Field(default_factory=dict)
    teams: dict[str, PolicyNames] = Field(default_factory=dict)
    models: dict[str, PolicyNames] = Field(default_factory=dict)
    prompts: dict[str, PolicyNames] = Field(default_factory=dict)
    #: Characters of a stream's text held back so that a finding split across chunks is caught; 0: the longest
    #: span the output guardrails can report.
    stream_window: int = Field(default=0, ge=0, le=65_536)

    @property
    def attached(self) -> dict[str, dict[str, PolicyNames]]:
        return {"keys": self.keys, "teams": self.teams, "models": self.models, "prompts": self.prompts}
