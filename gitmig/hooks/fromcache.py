"""The staged models' state and the staged migrations' replayed state, from what the
working tree's runs left in the state cache: no child process, no SQLAlchemy.

A commit of a model change usually follows `gitmig makemigrations` on the same files: that
run imported the working tree's models (the cache keeps the state with every project file
the import read, gitmig.cache.models_entry) and replayed its migrations (the replay entry,
keyed by each file's digest in graph order). The index's models are the same models when
the index holds the same pyproject.toml and the same bytes at each of those files, and no
file that could shadow one of them (every folder on the way to them, and each folder put
on sys.path, lists in the index nothing the working tree's lacks): then importing the
exported index would read exactly those files. The replayed state is the same when the
index's migrations are the same files, in the same order. Anything else is a miss, and
the child process imports the index as before.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from typing import TYPE_CHECKING

from gitmig import cache
from gitmig.config import Config
from gitmig.git.snapshot import GitProject, Snapshot, repo_path
from gitmig.migrations.graph import MigrationGraph

if TYPE_CHECKING:
    from gitmig.schema.state import SchemaState


def staged_states(
    project: GitProject, index: Snapshot, graph: MigrationGraph
) -> tuple[SchemaState, SchemaState] | None:
    """(the staged models' state, the staged migrations' replayed state), or None."""
    from gitmig.schema.state import SchemaState

    config = project.config
    layout = index.layout
    if not layout.own_section or set(layout.apps) != set(config.apps):
        return None
    workdir = str(project.workdir).rstrip("/") + "/"
    for label, app in layout.apps.items():
        if str(project.workdir / app.migrations) != str(config.apps[label].migrations) \
                or app.models != config.apps[label].models:
            return None
    entry = cache.models_entry(config.path)
    if entry is None or not isinstance(entry.get("state"), SchemaState) \
            or entry.get("cwd") is not None or entry.get("probed") \
            or not cache.still_missing(entry.get("missing", [])):
        return None  # a relative path, a path asked about, an absent module now there
    files = [str(config.path), *entry["closure"]]
    if not all(isinstance(f, str) and f.startswith(workdir) for f in files):
        return None  # read outside the repository: git cannot say whether it is staged
    rel = [f[len(workdir):] for f in files]
    if rel[0] != layout.pyproject:
        return None
    h = hashlib.sha256()
    for path, inside in zip(files, rel, strict=True):
        data = index.read(inside)
        if data is None:
            return None
        h.update(path.encode() + b"\0" + cache.digest(data).encode() + b"\n")
    if h.hexdigest() != entry["digest"] or not _nothing_shadows(index, workdir, rel, layout.bases):
        return None
    packages = entry["packages"]
    if cache.package_stamps([p[0] for p in packages]) != packages:
        return None  # a package the models import was upgraded, or is gone
    if not cache.environ_unchanged(entry):
        return None  # a variable the models read holds something else now
    replayed = _replayed(index, graph, config)
    if replayed is None:
        return None
    # As the child hands them over (gitmig.git.worker): through their JSON form.
    from gitmig.schema.stateio import from_json, to_json

    return from_json(to_json(entry["state"])), from_json(to_json(replayed))


def _nothing_shadows(index: Snapshot, workdir: str, files: list[str],
                     bases: tuple[str, ...]) -> bool:
    """No folder the import searched holds, in the index, a name the working tree's lacks
    (a package next to a module, a module earlier on sys.path)."""
    folders = set(bases)
    for path in files:
        folder = posixpath.dirname(path)
        while folder not in folders:
            folders.add(folder)
            folder = posixpath.dirname(folder)
        folders.add("")
    for folder in folders:
        staged = index.names(folder)
        if not staged:
            continue
        try:
            here = set(os.listdir(workdir + folder if folder else workdir))
        except OSError:
            return False
        if not staged <= here:
            return False
    return True


def _replayed(index: Snapshot, graph: MigrationGraph, config: Config) -> SchemaState | None:
    """The replay entry the working tree left (statecache.replay_key: scoped by the
    migrations folders, holding each file's digest in graph order), when its files are the
    index's."""
    from gitmig.schema.state import SchemaState

    layout = index.layout
    items = []
    for app, name in graph.order():
        data = index.read(repo_path(layout.apps[app].migrations, f"{name}.py"))
        if data is None:
            return None
        items.append((app, name, cache.digest(data)))
    if not items:
        return None
    scope = "\0".join(sorted({str(config.apps[app].migrations) for app, _, _ in items}))
    cached = cache.load("replay", scope)
    if isinstance(cached, dict) and cached.get("items") == items \
            and isinstance(cached.get("state"), SchemaState):
        return cached["state"]
    return None
