"""The migrations other branches add since their merge base with this one (HEAD).

What `gitmig graph --against REF / --all-branches` draws on lanes of their own: each
branch's migrations that its merge base lacks and this branch does not already hold
(the same migration, by checksum, merged or cherry-picked). Only the files a branch adds
to a migrations folder since the merge base are parsed, found by a tree diff, with the
loader's ast reader; nothing from another branch is run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph
from gitmig.migrations.loader import FILE_RE, parse_migration

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject


@dataclass(frozen=True)
class BranchMigrations:
    branch: str  # as named (`main`, `origin/feature`)
    commit: str  # short id
    merge_base: str | None  # short id; None: no common history
    added: dict[Key, tuple[Key, ...]]  # migration -> its parents


def against(project: GitProject, ours: MigrationGraph, refs: Iterable[str]
            ) -> list[BranchMigrations]:
    """Each named revision's migrations since its merge base with HEAD."""
    import pygit2

    repo = project.repo
    targets = []
    for ref in refs:
        try:
            commit = repo.revparse_single(ref).peel(pygit2.Commit)
        except (KeyError, ValueError, TypeError, pygit2.GitError):
            raise GitmigError(
                f"unknown revision {ref!r}: not a branch, tag, commit or revision expression "
                f"of the repository at {project.workdir}",
                hint="`git branch -a` lists the branches",
            ) from None
        targets.append((ref, commit))
    return _added(project, ours, targets)


def other_branches(repo: pygit2.Repository) -> list[tuple[str, pygit2.Commit]]:
    """Every local and remote-tracking branch but the current one, by short name, each
    commit once (the first name in sorted order keeps it)."""
    import pygit2

    current = None if repo.head_is_detached else repo.head.name
    seen: set[str] = set()
    targets = []
    for name in sorted(repo.listall_references()):
        if not name.startswith(("refs/heads/", "refs/remotes/")) or name == current:
            continue
        ref = repo.lookup_reference(name)
        if ref.type != pygit2.enums.ReferenceType.DIRECT:
            continue  # origin/HEAD names another branch
        try:
            commit = ref.peel(pygit2.Commit)
        except (pygit2.GitError, ValueError):
            continue
        if str(commit.id) not in seen:
            seen.add(str(commit.id))
            targets.append((name.removeprefix("refs/heads/").removeprefix("refs/remotes/"),
                            commit))
    return targets


def every_branch(project: GitProject, ours: MigrationGraph) -> list[BranchMigrations]:
    """Every other local and remote-tracking branch (each commit once)."""
    return _added(project, ours, other_branches(project.repo))


def _added(project: GitProject, ours: MigrationGraph,
           targets: list[tuple[str, pygit2.Commit]]) -> list[BranchMigrations]:
    import pygit2

    repo = project.repo
    if repo.head_is_unborn:
        raise GitmigError("this branch has no commits yet; commit first, then compare it "
                          "with other branches")
    head = repo.head.peel(pygit2.Commit)
    folders = {app: project.relative(a.migrations, "the migrations folder")
               for app, a in project.config.apps.items()}
    out = []
    for ref, commit in targets:
        base_id = repo.merge_base(head.id, commit.id)
        if commit.id == head.id or (base_id is not None and base_id == commit.id):
            continue  # nothing this branch lacks
        base = repo[base_id].peel(pygit2.Commit) if base_id is not None else None
        added: dict[Key, tuple[Key, ...]] = {}
        for app, folder in folders.items():
            for f in _new_files(repo, app, folder, ref, base, commit):
                mine = ours.nodes.get(f.key)
                if mine is None or mine.checksum != f.checksum:
                    added[f.key] = f.parents
        out.append(BranchMigrations(ref, str(commit.short_id),
                                    str(base_id)[:7] if base_id is not None else None, added))
    return out


def _new_files(repo: pygit2.Repository, app: str, folder: str, ref: str,
               base: pygit2.Commit | None, theirs: pygit2.Commit) -> list[MigrationFile]:
    """The app's migrations `theirs` adds to the folder since `base`, by a tree diff: only
    those files are parsed (with the loader's ast reader)."""
    import pygit2

    from gitmig.git.objects import subtree

    new = subtree(theirs.tree, folder)
    old = subtree(base.tree, folder) if base is not None else None
    if new is None or (old is not None and old.id == new.id):
        return []
    if old is None:
        entries = [(str(e.name), e.id) for e in new if isinstance(e, pygit2.Blob)]
    else:
        entries = [(d.new_file.path, d.new_file.id) for d in old.diff_to_tree(new).deltas
                   if d.status == pygit2.enums.DeltaStatus.ADDED]
    out = []
    for name, oid in entries:
        if "/" in name or not FILE_RE.match(name):
            continue
        blob = repo[oid]
        data = blob.data if isinstance(blob, pygit2.Blob) else b""
        shown = f"{ref}:{folder}/{name}" if folder else f"{ref}:{name}"
        out.append(parse_migration(app, name[:-3], data, shown))
    return out
