"""Which commit the running code is: the merge base of this branch with its upstream (else
main). Here, apart from the lint, so that the pre-commit hook can key its lint cache by it
without importing the lint's rules (and SQLAlchemy)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject


def default_ref(project: GitProject) -> str:
    """The upstream branch of the current one, else main."""
    repo = project.repo
    if not repo.head_is_detached and not repo.head_is_unborn:
        branch = repo.branches.local.get(repo.head.shorthand)
        upstream = branch.upstream if branch is not None else None
        if upstream is not None:
            return str(upstream.shorthand)
    return "main"


def merge_base(project: GitProject, ref: str) -> str | None:
    """The commit this branch and `ref` share last (None: no commit on this branch)."""
    import pygit2

    repo = project.repo
    if repo.head_is_unborn:
        return None
    theirs = project.revision(ref)
    head = repo.head.peel(pygit2.Commit)
    assert theirs.commit is not None
    base = repo.merge_base(head.id, pygit2.Oid(hex=theirs.commit))
    return str(base) if base is not None else None


def running_base(project: GitProject) -> str | None:
    """The merge base with the default ref, when git can tell (lint's running models)."""
    try:
        return merge_base(project, default_ref(project))
    except GitmigError:
        return None
