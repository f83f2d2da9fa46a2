"""Migration files to graph nodes, read with Python's ast and never executed.

That is what lets gitmig inspect migrations of any branch or commit safely: a file's
parents and checksum come from its syntax tree. Only replaying operations imports a file
(gitmig.migrations.replay), and only from the working tree.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations import statecache
from gitmig.migrations.graph import MigrationFile, MigrationGraph

FILE_RE = re.compile(r"^(\d{4,})_(\w+)\.py$")


def parse_parent(ref: str, app: str) -> tuple[str, str]:
    other, dot, name = ref.rpartition(".")
    return (other, name) if dot else (app, ref)


def parse_migration(app: str, name: str, source: str | bytes, path: str) -> MigrationFile:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise GitmigError(f"syntax error: {exc.msg}", path=path, line=exc.lineno) from None
    except ValueError as exc:  # null bytes
        raise GitmigError(f"cannot parse: {exc}", path=path) from None
    parents_node: ast.expr | None = None
    parents_line = 0
    operations_node: ast.expr | None = None
    for node in tree.body:
        target, value = assignment(node)
        if target == "parents":
            parents_node, parents_line = value, node.lineno
        elif target == "operations":
            operations_node = value
    if parents_node is None:
        raise GitmigError(
            "no `parents = [...]` at the top level; the first migration of an app has parents = []",
            path=path,
        )
    parents = []
    if not isinstance(parents_node, (ast.List, ast.Tuple)):
        raise GitmigError("`parents` must be a list of migration names", path=path,
                          line=parents_line)
    for elt in parents_node.elts:
        if not (isinstance(elt, ast.Constant) and isinstance(elt.value, str) and elt.value):
            raise GitmigError("`parents` must hold only migration names as strings",
                              path=path, line=parents_line)
        parents.append(parse_parent(elt.value, app))
    if operations_node is None:
        raise GitmigError("no `operations = [...]` at the top level", path=path)
    return MigrationFile(
        app=app,
        name=name,
        parents=tuple(parents),
        path=path,
        parents_line=parents_line,
        checksum=_checksum(tree, operations_node),
    )


def assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return node.target.id, node.value
    return None, None


def _checksum(tree: ast.Module, operations: ast.expr) -> str:
    """Normalised operations and the functions they may call; formatting never counts."""
    parts = [ast.dump(operations, annotate_fields=False)]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts.append(ast.dump(node, annotate_fields=False))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def migration_files(folder: Path) -> Iterable[tuple[str, Path]]:
    """(name, path) of each NNNN_name.py in a migrations folder, in name order."""
    try:
        entries = list(os.scandir(folder))  # scandir: no stat per file
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if FILE_RE.match(entry.name) and entry.is_file():
            found.append((entry.name[:-3], folder / entry.name))
    return sorted(found)


def read_folder(app: str, folder: Path) -> list[MigrationFile]:
    """Each file is parsed once per content: later reads come from the state cache."""
    scope = f"{app}\0{folder}"
    known: dict[tuple[str, str], MigrationFile] = statecache.load("parsed", scope) or {}
    seen: dict[tuple[str, str], MigrationFile] = {}
    out = []
    for name, path in migration_files(folder):
        try:
            source = path.read_bytes()
        except OSError as exc:
            raise GitmigError(f"cannot read migration: {exc.strerror}", path=str(path)) from None
        key = (name, statecache.digest(source))
        parsed = known.get(key)
        if parsed is None or parsed.path != str(path):
            parsed = replace(parse_migration(app, name, source, str(path)), digest=key[1])
        seen[key] = parsed
        out.append(parsed)
    if seen.keys() != known.keys():
        statecache.store("parsed", scope, seen)
    return out


def load_graph(config: Config, folders: dict[str, Path] | None = None) -> MigrationGraph:
    """The graph of every configured app's migrations as they are on disk."""
    files: list[MigrationFile] = []
    for app in config.apps.values():
        folder = (folders or {}).get(app.label, app.migrations)
        files += read_folder(app.label, folder)
    return MigrationGraph(files, list(config.apps))
