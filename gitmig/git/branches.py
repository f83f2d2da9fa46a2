"""The migrations other branches add since their merge base with this one (HEAD).

What `gitmig graph --against REF / --all-branches` draws on lanes of their own: each
branch's migrations that its merge base lacks and this branch does not already hold
(the same file, by checksum, merged or cherry-picked). Read through pygit2 and the
loader's ast reader; nothing from another branch is run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationGraph

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


def every_branch(project: GitProject, ours: MigrationGraph) -> list[BranchMigrations]:
    """Every other local and remote-tracking branch (each commit once)."""
    import pygit2

    repo = project.repo
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
    return _added(project, ours, targets)


def _added(project: GitProject, ours: MigrationGraph,
           targets: list[tuple[str, pygit2.Commit]]) -> list[BranchMigrations]:
    import pygit2

    repo = project.repo
    if repo.head_is_unborn:
        raise GitmigError("this branch has no commits yet; commit first, then compare it "
                          "with other branches")
    head = repo.head.peel(pygit2.Commit)
    out = []
    for ref, commit in targets:
        base = repo.merge_base(head.id, commit.id)
        if commit.id == head.id or (base is not None and base == commit.id):
            continue  # nothing this branch lacks
        theirs = project.revision(str(commit.id)).graph()
        before = project.revision(str(base)).graph().nodes if base is not None else {}
        added = {}
        for key, f in theirs.nodes.items():
            mine = ours.nodes.get(key)
            if key in before or (mine is not None and mine.checksum == f.checksum):
                continue
            added[key] = f.parents
        out.append(BranchMigrations(ref, str(commit.short_id),
                                    str(base)[:7] if base is not None else None, added))
    return out
