"""The shape of a prompt file, validated, and its canonical content and hash.

A prompt file (YAML, one prompt per file) looks like::

    name: support-reply
    description: Answer a customer's question.
    type: chat                      # or text: one `template` instead of `messages`
    model: gpt-4o-mini
    parameters: {temperature: 0.2, max_tokens: 300}
    messages:
      - {role: system, content: "You are a support agent for Acme Inc."}
      - {role: user, content: "Customer {{ customer_name }} asks: {{ question }}"}
    variables:                      # optional JSON Schema of the variables
      type: object
      properties: {customer_name: {type: string}, question: {type: string}}
      required: [customer_name, question]
    locked: [model]                 # fields a request may not override
    eval_suite: support-reply       # the eval suite a production release requires

The *content* of a version is everything but the name; its hash is the sha256 of the content as canonical JSON
(sorted keys, no whitespace), so equal content always gets the same hash whatever the YAML's layout.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
ROLES = ("system", "developer", "user", "assistant")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant"]
    content: str


class Parameters(BaseModel):
    """The OpenAI chat parameters a prompt may set. Unknown names are an error, so a typo never goes unnoticed."""

    model_config = ConfigDict(extra="forbid")

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, ge=0, le=1)
    max_tokens: int | None = Field(default=None, gt=0)
    max_completion_tokens: int | None = Field(default=None, gt=0)
    n: int | None = Field(default=None, gt=0, le=128)
    stop: str | list[str] | None = None
    seed: int | None = None
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    response_format: dict[str, Any] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    reasoning_effort: str | None = None
    service_tier: str | None = None

    @field_validator("response_format", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        # `response_format: json_object` is what people write; the API wants {"type": "json_object"}.
        return {"type": value} if isinstance(value, str) else value

    @field_validator("response_format")
    @classmethod
    def _known_format(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and value.get("type") not in ("text", "json_object", "json_schema"):
            raise ValueError("type must be text, json_object or json_schema")
        return value


PARAMETER_NAMES = frozenset(Parameters.model_fields)
LOCKABLE = PARAMETER_NAMES | {"model"}


class PromptSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    type: Literal["chat", "text"] = "chat"
    messages: list[Message] | None = None
    template: str | None = None
    model: str | None = None
    parameters: Parameters = Field(default_factory=Parameters)
    variables: dict[str, Any] | None = None
    locked: list[str] = Field(default_factory=list)
    eval_suite: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _parameters_belong_under_parameters(cls, data: Any) -> Any:
        if isinstance(data, dict):
            misplaced = sorted(PARAMETER_NAMES & data.keys())
            if misplaced:
                raise ValueError(f"{', '.join(misplaced)}: model parameters belong under `parameters:`")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> PromptSpec:
        if self.type == "chat" and not self.messages:
            raise ValueError("a chat prompt needs `messages` (a non-empty list)")
        if self.type == "chat" and self.template is not None:
            raise ValueError("a chat prompt has `messages`, not `template`")
        if self.type == "text" and (self.template is None or self.messages is not None):
            raise ValueError("a text prompt has one `template` string and no `messages`")
        unknown = [name for name in self.locked if name not in LOCKABLE]
        if unknown:
            raise ValueError(f"locked: {', '.join(unknown)} cannot be locked; use model or a parameter name")
        set_fields = {"model"} if self.model else set()
        set_fields |= set(self.parameters.model_dump(exclude_none=True))
        unset = [name for name in self.locked if name not in set_fields]
        if unset:
            raise ValueError(f"locked: {', '.join(unset)} is locked but the prompt does not set it")
        return self

    @field_validator("variables")
    @classmethod
    def _valid_schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        from jsonschema import Draft202012Validator  # noqa: PLC0415 - jsonschema (~100 ms), only with a schema
        from jsonschema.exceptions import SchemaError  # noqa: PLC0415 - jsonschema

        schema = {"type": "object", **value}
        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            where = "/".join(str(part) for part in exc.absolute_path)
            raise ValueError(f"not a valid JSON Schema{f' at {where}' if where else ''}: {exc.message}") from exc
        if schema.get("type") != "object":
            raise ValueError("the variables' schema must describe an object (type: object)")
        return schema

    def content(self) -> dict[str, Any]:
        """What a version is made of: the whole file but its name, with unset fields left out."""
        content = self.model_dump(mode="json", exclude={"name"}, exclude_none=True)
        content["parameters"] = self.parameters.model_dump(mode="json", exclude_none=True)
        if not content["locked"]:
            del content["locked"]
        if not content["description"]:
            del content["description"]
        return content


def content_hash(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


LABEL_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")


def check_label(label: str) -> str:
    """Labels are lower-case names that do not look like version numbers (``name@3`` is a version)."""
    if not LABEL_PATTERN.match(label):
        raise ValueError(
            f"invalid label {label!r}: use lower-case letters, digits, '-' and '_', starting with a letter"
        )
    return label
