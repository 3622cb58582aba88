"""The shape of the code: imports run one way, and test modules share helpers, not each other.

Imports are read with :mod:`ast`, module-level and inside functions alike, so a cycle hidden in
a function body (an import deferred to dodge it) counts too.
"""

from __future__ import annotations

import ast
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "sparkify_dagster"
TESTS = "sparkify_dagster_tests"


def modules(package: str) -> dict[str, Path]:
    """Every module of ``package`` by its dotted name (a package by its own name)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path]) -> Iterator[str]:
    """The modules of ``known`` that module ``name`` imports anywhere in its body.

    ``from x import y`` is an import of ``x.y`` when that is a module, else of ``x``.
    """
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[: len(anchor) - node.level + is_package]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [
                f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                for alias in node.names
            ]
        else:
            continue
        yield from (target for target in targets if target in known and target != name)


def graph(package: str) -> dict[str, set[str]]:
    known = modules(package)
    return {name: set(imported(name, path, known)) for name, path in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle, as a path that returns to its start, per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return [_path_within(sorted(group), edges) for group in groups]


def _path_within(group: list[str], edges: dict[str, set[str]]) -> list[str]:
    """A shortest cycle through the first module of ``group``, staying inside the group."""
    start = group[0]
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for target in sorted(edges[node] & set(group)):
                if target == start:
                    return [*paths[node], start]
                if target not in paths:
                    paths[target] = [*paths[node], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{group} is not a cycle")  # pragma: no cover


def test_the_cycle_finder_names_a_cycle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(edges) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_graph_is_read() -> None:
    edges = graph(PACKAGE)
    assert "sparkify_dagster.core.errors" in edges["sparkify_dagster.ingest.sources"]
    assert f"{PACKAGE}.definitions" in edges[PACKAGE]  # imported inside a function


def test_no_import_cycles() -> None:
    found = cycles(graph(PACKAGE))
    assert not found, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in found)


def test_ingest_does_not_import_the_warehouse() -> None:
    """Reading sources needs no engine: the warehouse builds on ingest, never the reverse."""
    offenders = [
        f"{name} imports {target}"
        for name, targets in graph(PACKAGE).items()
        if name.startswith(f"{PACKAGE}.ingest")
        for target in targets
        if target.startswith(f"{PACKAGE}.warehouse")
    ]
    assert not offenders, "\n".join(offenders)


def test_test_modules_share_helpers_not_each_other() -> None:
    """Shared fixtures live in conftest.py, shared functions in helper modules."""
    known = modules(TESTS)
    offenders = [
        f"{name} imports {target}"
        for name, path in known.items()
        for target in imported(name, path, known)
        if target.rsplit(".", 1)[-1].startswith("test_")
    ]
    assert not offenders, "\n".join(offenders)


# -- settings are read in one place ------------------------------------------------------------

# The settings module reads the environment; the resources turn its variables into EnvVar fields.
READS_ENVIRONMENT = {"sparkify_dagster.core.settings", "sparkify_dagster.resources"}


def environment_reads(path: Path) -> list[int]:
    """The lines of ``path`` that read ``os.environ`` or call ``os.getenv``."""
    tree = ast.parse(path.read_text(), str(path))
    return sorted(node.lineno for node in ast.walk(tree) if _reads_environment(node))


def _reads_environment(node: ast.AST) -> bool:
    names = {"environ", "getenv", "environb"}
    if isinstance(node, ast.Attribute):
        return node.attr in names and isinstance(node.value, ast.Name) and node.value.id == "os"
    if isinstance(node, ast.ImportFrom):
        return node.module == "os" and any(alias.name in names for alias in node.names)
    return False


def test_only_the_settings_module_reads_the_environment() -> None:
    readers = {
        name: lines
        for name, path in modules(PACKAGE).items()
        if name not in READS_ENVIRONMENT and (lines := environment_reads(path))
    }
    assert not readers, f"read the environment through sparkify_dagster.core.settings: {readers}"


def test_environment_reads_are_found() -> None:
    sample = "import os\nfrom os import getenv\nx = os.environ.get('A')\ny = os.getenv('B')\n"
    path = Path(tempfile.mkdtemp()) / "sample.py"
    path.write_text(sample)
    assert environment_reads(path) == [2, 3, 4]


# -- modules one can hold in one's head --------------------------------------------------------

MAX_LINES = 400


def test_no_module_is_over_400_lines() -> None:
    long = {
        name: count
        for name, path in modules(PACKAGE).items()
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert not long, f"split these along their seams: {long}"
