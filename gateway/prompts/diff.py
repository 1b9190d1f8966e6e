"""The difference between two versions of a prompt: its messages, and its model and parameters.

Each part is a unified diff (``difflib``) of a readable text form: messages as ``[role]`` blocks, everything
else as YAML with sorted keys. The CLI colours it; the admin API returns the lines.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import yaml

_TEXT_FIELDS = ("messages", "template")


@dataclass(slots=True)
class DiffPart:
    title: str
    lines: list[str]


def diff_versions(name: str, a: int, old: dict[str, Any], b: int, new: dict[str, Any]) -> list[DiffPart]:
    """The changed parts only; an empty list means the two versions are the same."""
    parts = [
        DiffPart("messages", _unified(_messages_text(old), _messages_text(new), name, a, b)),
        DiffPart("model and parameters", _unified(_settings_text(old), _settings_text(new), name, a, b)),
    ]
    return [part for part in parts if part.lines]


def _unified(old: list[str], new: list[str], name: str, a: int, b: int) -> list[str]:
    return list(difflib.unified_diff(old, new, f"{name}@{a}", f"{name}@{b}", lineterm="", n=3))


def _messages_text(content: dict[str, Any]) -> list[str]:
    if content.get("type", "chat") == "text":
        return ["[template]", *str(content.get("template", "")).splitlines()]
    lines: list[str] = []
    for message in content.get("messages") or []:
        lines.append(f"[{message.get('role')}]")
        lines.extend(str(message.get("content", "")).splitlines() or [""])
    return lines


def _settings_text(content: dict[str, Any]) -> list[str]:
    settings = {key: value for key, value in content.items() if key not in _TEXT_FIELDS}
    return yaml.safe_dump(settings, sort_keys=True, allow_unicode=True, width=100).splitlines()
