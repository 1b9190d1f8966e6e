"""The package's import graph: no cycles, and nothing below the HTTP layer imports it.

Read from the source (``ast``), so it costs nothing to run and sees imports inside functions too. Imports under
``if TYPE_CHECKING:`` run only for the type checker and are left out of the cycle check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import gateway

ROOT = Path(gateway.__file__).parent
#: Above the HTTP layer: they serve the app (``gateway serve``), or run it in process (the eval runner).
HTTP_USERS = ("gateway.http", "gateway.server", "gateway.cli", "gateway.evals.client")


def modules() -> dict[str, ast.Module]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = ["gateway", *path.relative_to(ROOT).with_suffix("").parts]
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


def imported(node: ast.stmt, known: dict[str, ast.Module]) -> list[str]:
    """The gateway modules an import statement loads (``from a import b``: ``a.b`` if it is a module, else ``a``)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module for a in node.names]
    else:
        return []
    return [name for name in names if name in known]


def top_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements run when the module is imported: the body, into ``if``/``try``, not ``if TYPE_CHECKING:``."""
    out: list[ast.stmt] = []
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.If | ast.Try):
            handlers = [stmt for handler in getattr(node, "handlers", []) for stmt in handler.body]
            out += top_level([*node.body, *handlers, *node.orelse])
        else:
            out.append(node)
    return out


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = stack[stack.index(node) :]
                del stack[stack.index(node) :]
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_imports_itself_back_at_import_time() -> None:
    known = modules()
    graph = {
        name: {target for node in top_level(tree.body) for target in imported(node, known) if target != name}
        for name, tree in known.items()
    }
    assert cycles(graph) == []


def test_the_cycle_check_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_nothing_below_the_http_layer_imports_it() -> None:
    known = modules()
    upward = sorted(
        (name, target)
        for name, tree in known.items()
        if not name.startswith(HTTP_USERS)
        for node in ast.walk(tree)
        if isinstance(node, ast.stmt)
        for target in imported(node, known)
        if target.startswith("gateway.http")
    )
    assert upward == []
