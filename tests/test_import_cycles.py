"""No import cycle inside src/s2ws: the layering of design.md, checked on the source.

Only imports that run when a module is loaded count: module-level statements (also inside
``if``/``try`` at module level), not imports inside functions, and not ``if TYPE_CHECKING:``
blocks. ``from package import name`` depends on ``package.name`` when that is a module, else on
``package`` itself. A package's ``__init__`` importing its own submodules is not a cycle: loading
a submodule loads its package first, but that implicit step is not an edge here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import s2ws

ROOT = Path(s2ws.__file__).parent

KNOWN_CYCLES: set[frozenset[str]] = set()
"""Edges between the modules of one of these sets are ignored."""


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = ["s2ws", *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _load_time_imports(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If):
            if not _is_type_checking(node.test):
                yield from _load_time_imports(node.body)
            yield from _load_time_imports(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)):
                yield from _load_time_imports(block)
        elif isinstance(node, ast.With):
            yield from _load_time_imports(node.body)


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The s2ws modules ``module`` imports when it is loaded."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    out: set[str] = set()
    for node in _load_time_imports(tree.body):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names if alias.name in known)
            continue
        if node.level:
            base = _package_of(module, path).split(".")
            base = base[: len(base) - (node.level - 1)]
            target = ".".join([*base, node.module] if node.module else base)
        else:
            target = node.module or ""
        if target not in known:
            continue
        for alias in node.names:
            sub = f"{target}.{alias.name}"
            out.add(sub if sub in known else target)
    out.discard(module)
    return out


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    graph = {name: imports_of(name, path, known) for name, path in modules.items()}
    for pair in KNOWN_CYCLES:
        for a in pair:
            graph[a] -= pair - {a}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_inside_s2ws() -> None:
    graph = import_graph()
    assert len(graph) > 50, "the walk found too few modules"
    assert cycles(graph) == []


def test_the_walk_sees_relative_imports_and_skips_type_checking_blocks() -> None:
    graph = import_graph()
    assert "s2ws.errors" in graph["s2ws.codec"]
    assert "s2ws.app.handle" in graph["s2ws.app.application"]
    assert "s2ws.app.application" not in graph["s2ws.app.handle"]  # only under TYPE_CHECKING


def test_a_cycle_is_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
