"""The conflicts in git's index, sorted: what resolve repairs (lock files, migrations both
sides added), what it refuses (the models), and what it leaves to the user."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations import lockfile
from gitmig.migrations.loader import FILE_RE
from gitmig.resolve.context import Context

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject


@dataclass
class Conflicts:
    locks: dict[str, str] = field(default_factory=dict)  # app -> repo path
    added_both: dict[str, tuple[str, bytes, bytes]] = field(default_factory=dict)
    # repo path -> (app, this branch's bytes, the other branch's bytes)
    remaining: list[str] = field(default_factory=list)


def index_conflicts(
    project: GitProject | None,
    config: Config,
    folders: dict[str, str],
    selected: list[str],
    context: Context,
) -> Conflicts:
    """Sort the index's conflicts: lock files and migrations both sides added (resolve
    understands those), the models (refused: resolve them first), and the rest (left to
    the user, and said so)."""
    out = Conflicts()
    if project is None:
        return out
    repo = project.repo
    try:
        conflicted = repo.index.conflicts
    except Exception as exc:  # an unreadable index
        raise GitmigError(f"cannot read git's index: {exc}") from None
    if conflicted is None:
        return out
    models = _models_paths(project)
    by_folder = {folder: app for app, folder in folders.items() if folder}
    refused = []
    for ancestor, ours, theirs in conflicted:
        entry = ours or theirs or ancestor
        path = str(entry.path)
        folder, _, base = path.rpartition("/")
        app = by_folder.get(folder)
        if path in models:
            refused.append(path)
        elif app in selected and base == lockfile.LOCK_NAME:
            out.locks[app] = path
        elif app in selected and FILE_RE.match(base):
            if ancestor is not None or ours is None or theirs is None:
                raise GitmigError(
                    f"{path} is in conflict (changed on both sides or removed on one); "
                    "resolve it by hand first (edit it, then `git add` it), then run "
                    "`gitmig resolve` again"
                )
            mine, other = (theirs, ours) if context.stages_swapped else (ours, theirs)
            out.added_both[path] = (app, _blob(repo, mine.id), _blob(repo, other.id))
        else:
            out.remaining.append(path)
    if refused:
        paths = ", ".join(sorted(refused))
        raise GitmigError(
            f"the models are in conflict ({paths}); resolve "
            f"{'it' if len(refused) == 1 else 'them'} first (edit, then `git add`), then run "
            "`gitmig resolve` again: the migrations must follow the merged models"
        )
    out.remaining.sort()
    return out


def _blob(repo: pygit2.Repository, oid: pygit2.Oid) -> bytes:
    import pygit2

    obj = repo[oid]
    assert isinstance(obj, pygit2.Blob)
    return obj.data


def _models_paths(project: GitProject) -> set[str]:
    """Repository paths whose content decides the models: pyproject.toml, the models
    modules (or packages) and the project modules they import."""
    from gitmig.git.closure import import_closure
    from gitmig.git.snapshot import repo_path

    worktree = project.worktree()
    layout = worktree.layout
    paths = import_closure(worktree, layout) | {layout.pyproject}
    packages = [repo_path(base, *a.models.split(".")) for a in layout.apps.values()
                for base in layout.bases]
    index = project.repo.index
    conflicted = index.conflicts
    if conflicted is not None:
        for ancestor, ours, theirs in conflicted:
            path = str((ours or theirs or ancestor).path)
            if any(path.startswith(p + "/") for p in packages):
                paths.add(path)
    return paths
