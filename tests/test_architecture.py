"""The architecture as tests: layers import only downwards, modules form no import cycle
(imports inside functions count too), and `gitmig --help` stays light.

CONTRIBUTING.md describes the same layers; change both together.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import gitmig

PACKAGE = Path(gitmig.__file__).resolve().parent

# Bottom to top. A module may import from its own layer and the layers below it.
LAYERS: list[set[str]] = [
    # core: every layer uses
    {"errors", "config", "console", "atomic", "regular", "hints", "cache", "processes", "__init__"},
    {"schema"},
    {"ops"},
    {"migrations"},
    {"db"},
    {"git"},
    {"lint"},
    {"actions"},
    {"fleet"},
    {"resolve", "hooks"},
    {"testing"},  # the pytest plugin: the stairway, the migrator, the checks
    {"commands"},
    {"cli", "__main__"},
]
LAYERS[-1] |= {"entry"}  # the console script: a shortcut, then the cli
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# Imports that go up a layer today, (importer, imported): other work is removing them. A new
# one fails the test; one that is gone is reported, to be struck from this list.
KNOWN_UPWARD: set[tuple[str, str]] = set()

# Import cycles today, each as the set of modules in it; the same rule applies.
KNOWN_CYCLES: list[frozenset[str]] = []


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int]]:
    """The gitmig modules that `name` imports, anywhere in it (functions, TYPE_CHECKING
    blocks), with the line: `from gitmig.x import y` is module gitmig.x.y when that is a
    module, else gitmig.x."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_bytes(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "gitmig":
                    yield _nearest(alias.name, known), node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != "gitmig":
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield (full if full in known else _nearest(source, known)), node.lineno


def _nearest(dotted: str, known: dict[str, Path]) -> str:
    while dotted not in known and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


def layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def graph() -> dict[str, dict[str, int]]:
    known = modules()
    edges: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        targets = edges.setdefault(name, {})
        for target, line in imports(name, path, known):
            if target != name:
                targets.setdefault(target, line)
    return edges


def test_every_module_belongs_to_a_layer() -> None:
    unknown = sorted(m for m in modules() if layer(m) not in RANK)
    assert not unknown, (f"modules in no layer: {unknown}; add their package to LAYERS here "
                         "and to CONTRIBUTING.md")


def test_no_module_imports_from_a_layer_above_it() -> None:
    upward = {}
    for importer, targets in graph().items():
        for target, line in targets.items():
            if layer(target) in RANK and RANK[layer(target)] > RANK.get(layer(importer), 99):
                upward[(importer, target)] = line
    new = sorted(set(upward) - KNOWN_UPWARD)
    assert not new, "imports from a layer above:\n" + "\n".join(
        f"  {a} (line {upward[(a, b)]}) imports {b}" for a, b in new)
    gone = sorted(KNOWN_UPWARD - set(upward))
    if gone:
        warnings.warn(f"fixed upward imports, strike them from KNOWN_UPWARD: {gone}",
                      stacklevel=1)


def cycles(edges: dict[str, dict[str, int]]) -> list[frozenset[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return found


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import() -> None:
    edges = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 9}, "d": {"a": 1}}
    assert cycles(edges) == [frozenset({"a", "b", "c"})]
    assert cycles({"a": {"b": 1}, "b": {}}) == []


def test_no_import_cycle_between_modules() -> None:
    edges = graph()
    found = cycles(edges)
    new = [c for c in found if not any(c <= known for known in KNOWN_CYCLES)]
    assert not new, "import cycles (imports inside functions count):\n" + "\n".join(
        "  " + " -> ".join(sorted(c)) for c in new)
    gone = [k for k in KNOWN_CYCLES if not any(c & k for c in found)]
    if gone:
        warnings.warn(f"fixed cycles, strike them from KNOWN_CYCLES: {gone}", stacklevel=1)


HEAVY = ("sqlalchemy", "rich", "pygit2", "alembic")
# What `gitmig --help` may import of gitmig itself: the entry point and the command table.
HELP_IMPORTS = {"gitmig", "gitmig.__main__", "gitmig.cli", "gitmig.commands", "gitmig.errors"}
HELP_IMPORTS |= {"gitmig.entry"}  # the entry point (its `makemigrations --check` shortcut)


def imported_by(*args: str) -> set[str]:
    """Modules that `python -m gitmig ARGS` imports, read from Python's -X importtime."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", *args],
                          capture_output=True, text=True, timeout=60, cwd=PACKAGE.parent)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    assert "gitmig.cli" in names, "the import log was not read"
    return names | {"gitmig.__main__"}


def test_help_imports_no_heavy_library_and_only_the_entry_point() -> None:
    names = imported_by("--help")
    heavy = sorted(n for n in names if n.split(".")[0] in HEAVY)
    assert not heavy, f"`gitmig --help` imports {heavy}"
    ours = {n for n in names if n.split(".")[0] == "gitmig"}
    assert ours <= HELP_IMPORTS, f"`gitmig --help` imports more of gitmig: {ours - HELP_IMPORTS}"
