"""The prompts package sits below the evals package: evals resolve prompt versions, prompts never import evals."""

from __future__ import annotations

import ast
from pathlib import Path

import gateway.prompts


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_prompts_module_imports_the_evals_package() -> None:
    folder = Path(gateway.prompts.__file__).parent
    upward = {
        f"{path.name}: {name}"
        for path in sorted(folder.glob("*.py"))
        for name in imported_modules(path)
        if name == "gateway.evals" or name.startswith("gateway.evals.")
    }
    assert not upward, f"gateway.prompts imports gateway.evals: {sorted(upward)}"
