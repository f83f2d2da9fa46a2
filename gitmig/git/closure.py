"""Which files decide what importing a project's models runs: found from paths and
Python's ast alone, so that the pre-commit hook, `status` and `resolve` can tell whether a
change can matter before anything is imported or SQLAlchemy is loaded.

The closure follows `import` statements through the snapshot's files (packages first, as
Python runs them); imports made at run time by name are not followed.
"""

from __future__ import annotations

import ast

from gitmig.git.snapshot import Layout, Snapshot, repo_path


def relevant(snapshot: Snapshot, layout: Layout, staged: set[str]) -> bool:
    """Whether any staged path can change the models or migrations of the project."""
    return touches_project(layout, staged, import_closure(snapshot, layout))


def touches_project(layout: Layout, staged: set[str], closure: set[str]) -> bool:
    """`relevant`, with the import closure already known."""
    if layout.pyproject in staged:
        return True
    folders = watched_folders(layout)
    if any(p.startswith(f + "/") for p in staged for f in folders):
        return True
    return not staged.isdisjoint(closure)


def watched_folders(layout: Layout, every_candidate: bool = False) -> set[str]:
    """The migrations folders and the models packages (every file in one counts).

    `every_candidate`: also each folder that would be an app's migrations folder if another
    base folder held its package (Snapshot._layout_from picks the first base that does), so
    that the set does not depend on which folders exist."""
    folders = {a.migrations for a in layout.apps.values()}
    for app in layout.apps.values():
        package = app.models.rpartition(".")[0].split(".")
        for base in layout.bases:
            folders.add(repo_path(base, *app.models.split(".")))
            if every_candidate:
                folders.add(repo_path(base, *package, "migrations"))
    return {f for f in folders if f}


def import_closure(snapshot: Snapshot, layout: Layout) -> set[str]:
    """Every file (there or not) whose content decides what importing the models runs."""
    paths: set[str] = set()
    seen: set[str] = set()
    queue = [app.models for app in layout.apps.values()]
    while queue:
        module = queue.pop()
        if module in seen:
            continue
        seen.add(module)
        parts = module.split(".")
        queue += [".".join(parts[:i]) for i in range(1, len(parts))]  # packages run first
        for base in layout.bases:
            for path, is_package in (
                (repo_path(base, *parts[:-1], parts[-1] + ".py"), False),
                (repo_path(base, *parts, "__init__.py"), True),
            ):
                paths.add(path)
                source = snapshot.read(path)
                if source is not None:
                    queue += _imports(source, module, is_package)
    return paths


def _imports(source: bytes, module: str, is_package: bool) -> list[str]:
    """Absolute names of the modules a file may import (each `from X import y` as X, X.y)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    package = module if is_package else module.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                if node.level - 1 > len(base_parts):
                    continue
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if not base:
                continue
            out.append(base)
            out += [f"{base}.{alias.name}" for alias in node.names if alias.name != "*"]
    return out
