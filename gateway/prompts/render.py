"""Render a version's templates with a request's variables, in Jinja2's immutable sandbox.

* ``StrictUndefined``: a variable the request does not give is an error naming it, never a silent blank.
* The sandbox refuses attribute access to Python internals (``''.__class__.__mro__``, ``x.__globals__``, ...)
  and calls to unsafe methods; the immutable variant also refuses ``list.append`` and the like.
* When the prompt declares a JSON Schema for its variables, they are validated against it first (simple schemas
  through ``QuickCheck``, a fast path that can only say "valid"; ``jsonschema`` decides everything else).

``CompiledPrompt`` is built once per version (templates parsed, schema compiled) and then only renders.
"""

from __future__ import annotations

from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError, meta
from jinja2.exceptions import SecurityError
from jinja2.nodes import Template as TemplateNode
from jinja2.sandbox import ImmutableSandboxedEnvironment

from gateway.prompts.errors import RenderError
from gateway.prompts.quickcheck import QuickCheck


def sandbox() -> ImmutableSandboxedEnvironment:
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def template_variables(env: ImmutableSandboxedEnvironment, source: str) -> set[str]:
    """The variables a template reads (its globals such as ``range`` excluded). Raises ``TemplateError``."""
    tree: TemplateNode = env.parse(source)
    return set(meta.find_undeclared_variables(tree)) - set(env.globals)


class CompiledPrompt:
    """A version's templates, ready to render. ``label`` (``name@N``) appears in error messages."""

    def __init__(self, label: str, content: dict[str, Any]) -> None:
        env = sandbox()
        self.label = label
        self.kind: str = content.get("type", "chat")
        sources: list[tuple[str, str]] = (
            [(m["role"], m["content"]) for m in content.get("messages") or []]
            if self.kind == "chat"
            else [("user", content.get("template") or "")]
        )
        self.required: list[str] = sorted(set().union(*(template_variables(env, s) for _, s in sources)))
        self._templates = [(role, env.from_string(source)) for role, source in sources]
        schema = content.get("variables")
        self._validator = None
        self._quick: QuickCheck | None = None
        if schema is not None:
            from jsonschema import Draft202012Validator  # noqa: PLC0415 - jsonschema (~100 ms), only with a schema

            self._validator = Draft202012Validator(schema)
            self._quick = QuickCheck.compile(schema)

    def render(self, variables: dict[str, Any]) -> list[dict[str, str]]:
        """The rendered messages (a text prompt is one user message)."""
        self._check(variables)
        messages = []
        for role, template in self._templates:
            try:
                text = template.render(variables)
            except SecurityError as exc:
                raise RenderError(f"prompt {self.label}: the template sandbox refused: {exc}") from exc
            except UndefinedError as exc:
                raise RenderError(f"prompt {self.label}: {exc}", param="prompt_variables") from exc
            except (TemplateError, TypeError, ValueError, ArithmeticError) as exc:
                raise RenderError(f"prompt {self.label}: the template failed: {exc}") from exc
            messages.append({"role": role, "content": text})
        return messages

    def _check(self, variables: dict[str, Any]) -> None:
        missing = [name for name in self.required if name not in variables]
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            raise RenderError(
                f"prompt {self.label} needs the variable{'s' if len(missing) > 1 else ''} {names}, "
                "missing from prompt_variables",
                param=f"prompt_variables.{missing[0]}",
            )
        if self._validator is not None and not (self._quick is not None and self._quick.accepts(variables)):
            from jsonschema.exceptions import best_match  # noqa: PLC0415 - jsonschema

            error = best_match(self._validator.iter_errors(variables))
            if error is not None:
                path = ".".join(str(part) for part in error.absolute_path)
                where = f"prompt_variables.{path}" if path else "prompt_variables"
                raise RenderError(f"prompt {self.label}: {where}: {error.message}", param=where)
