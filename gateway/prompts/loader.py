"""Read prompt files (one YAML file per prompt) into validated ``PromptSpec``s.

Every problem is reported with the file, the line and the field, e.g.::

    prompts/support-reply.yaml:9: messages[1].role: Input should be 'system', 'developer', 'user' or 'assistant'
    prompts/summarise.yaml:4: messages[0].content: template syntax error: unexpected '}' (template line 1)

``load_dir`` checks every file and raises one ``PromptFileError`` listing all problems, so a push is all or
nothing. Templates are parsed here, and a template that reads a variable the declared schema does not name
is an error too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from jinja2 import TemplateSyntaxError
from pydantic import ValidationError

from gateway.prompts.errors import PromptFileError
from gateway.prompts.render import sandbox, template_variables
from gateway.prompts.spec import PromptSpec

Loc = tuple[str | int, ...]


def load_dir(directory: Path) -> list[tuple[Path, PromptSpec]]:
    """Every ``*.yaml`` / ``*.yml`` under ``directory`` (sorted), validated; names must be unique."""
    if not directory.is_dir():
        raise PromptFileError(f"{directory}: not a directory")
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    loaded: list[tuple[Path, PromptSpec]] = []
    problems: list[str] = []
    seen: dict[str, Path] = {}
    for path in files:
        try:
            spec = load_file(path)
        except PromptFileError as exc:
            problems.append(str(exc))
            continue
        if spec.name in seen:
            problems.append(f"{path}: name: {spec.name!r} is also the name of {seen[spec.name]}")
            continue
        seen[spec.name] = path
        loaded.append((path, spec))
    if problems:
        raise PromptFileError("\n".join(problems))
    return loaded


def load_file(path: Path) -> PromptSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse(text, str(path))


def parse(text: str, source: str = "<prompt>") -> PromptSpec:
    """Validate one prompt file's text; ``source`` names it in messages."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 0
        raise PromptFileError(f"{source}:{line}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:  # e.g. a NUL or another character YAML does not allow, found while reading
        raise PromptFileError(f"{source}: invalid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PromptFileError(f"{source}: a prompt file must be a YAML mapping (name, messages, ...)")
    try:
        spec = PromptSpec.model_validate(data)
    except ValidationError as exc:
        raise PromptFileError("\n".join(_describe(exc, source, node))) from exc
    problems = _check_templates(spec, source, node)
    if problems:
        raise PromptFileError("\n".join(problems))
    return spec


def _check_templates(spec: PromptSpec, source: str, node: yaml.Node | None) -> list[str]:
    env = sandbox()
    templates: list[tuple[Loc, str]] = (
        [(("messages", i, "content"), m.content) for i, m in enumerate(spec.messages or [])]
        if spec.type == "chat"
        else [(("template",), spec.template or "")]
    )
    declared = set((spec.variables or {}).get("properties", {})) if spec.variables is not None else None
    problems = []
    for loc, template in templates:
        where = f"{source}:{_line(node, loc)}: {_dotted(loc)}"
        try:
            used = template_variables(env, template)
        except TemplateSyntaxError as exc:
            problems.append(f"{where}: template syntax error: {exc.message} (template line {exc.lineno})")
            continue
        undeclared = sorted(used - declared) if declared is not None else []
        if undeclared:
            problems.append(f"{where}: uses {', '.join(undeclared)}, which `variables` does not declare")
    return problems


def _describe(exc: ValidationError, source: str, node: yaml.Node | None) -> list[str]:
    lines = []
    for error in exc.errors():
        loc: Loc = tuple(part for part in error["loc"] if not isinstance(part, str) or part)
        message = error["msg"].removeprefix("Value error, ")
        field = _dotted(loc) or "(file)"
        lines.append(f"{source}:{_line(node, loc)}: {field}: {message}")
    return lines


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line(node: yaml.Node | None, loc: Loc) -> int:
    """The line of the deepest node on ``loc`` that exists (1-based)."""
    line = node.start_mark.line + 1 if node is not None else 1
    current: Any = node
    for part in loc:
        child = None
        if isinstance(current, yaml.MappingNode):
            for key, value in current.value:
                if key.value == part:
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int) and part < len(current.value):
            child = current.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        current = child
    return line
