"""The import graph of a source tree, read with ``ast`` (nothing is imported), and its circles.

Every import statement counts, wherever it stands: at the top, inside a function (an import
moved into a function still makes the two modules depend on each other), under ``try``. The
body of ``if TYPE_CHECKING:`` never runs; it counts only when asked for (``type_checking=True``):
a type named there still ties the two modules together for whoever reads or changes them.

An edge goes to the module whose names are used: ``import a.b.c`` and ``from a.b import c``
(``c`` a module) point at ``a.b.c``; ``from a.b import name`` (a name defined in ``a/b``) points
at ``a.b``. That a package's ``__init__`` runs before its submodules is not an edge: otherwise a
package that imports its own submodules would always be "in a circle" with each of them.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable
from pathlib import Path


def module_names(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """The dotted name of every module under ``root/<package>`` and its file."""
    found: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    return isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"


def _import_nodes(tree: ast.AST, type_checking: bool) -> Iterable[ast.Import | ast.ImportFrom]:
    """Every import in ``tree``; those under ``if TYPE_CHECKING:`` only with ``type_checking``
    (its ``else`` always counts)."""
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test) and not type_checking:
            pending.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        pending.extend(ast.iter_child_nodes(node))


def _absolute(module: str, path: Path, node: ast.ImportFrom) -> str:
    """The absolute module a ``from ... import`` names (relative forms resolved)."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(module: str, path: Path, known: dict[str, Path], type_checking: bool = False) -> set[str]:
    """The modules of ``known`` that ``module`` imports (with ``type_checking``, for types too)."""
    targets: set[str] = set()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in _import_nodes(tree, type_checking):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        source = _absolute(module, path, node)
        for alias in node.names:
            submodule = f"{source}.{alias.name}"
            targets.add(submodule if submodule in known else source)
    edges = set()
    for target in targets:
        while target and target not in known:  # a name inside a module: the module
            target = target.rpartition(".")[0]
        if target and target != module:
            edges.add(target)
    return edges


def build_graph(root: Path, packages: Iterable[str], type_checking: bool = False) -> dict[str, set[str]]:
    """Module -> the modules it imports, for every module under ``root``'s ``packages``
    (with ``type_checking``, the imports under ``if TYPE_CHECKING:`` count too)."""
    known = module_names(root, packages)
    return {module: imports_of(module, path, known, type_checking) for module, path in known.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round about (Tarjan's
    algorithm, iterative); each group of two or more, sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
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
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return sorted(groups)


def shortest_circle(graph: dict[str, set[str]], group: list[str]) -> list[str]:
    """A shortest circle through the first module of ``group``: [a, b, ..., a]."""
    start, members = group[0], set(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & members):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    return group


def describe_circles(graph: dict[str, set[str]]) -> list[str]:
    """One line per circle: its shortest loop, then every module of the group."""
    lines = []
    for group in strongly_connected(graph):
        loop = " -> ".join(shortest_circle(graph, group))
        lines.append(f"{loop}   (group of {len(group)}: {', '.join(group)})")
    return lines
