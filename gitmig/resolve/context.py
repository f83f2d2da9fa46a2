"""Where resolve runs: in a merge, a rebase or a cherry-pick (git stopped at a conflict),
or after one; which commit is this branch's and which is the other's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.migrations.loader import FILE_RE

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject


@dataclass
class Context:
    kind: str | None  # "merge", "rebase", "cherry-pick", "merge commit" or None
    ours: pygit2.Commit | None = None
    theirs: pygit2.Commit | None = None
    theirs_label: str = "the other branch"

    @property
    def stages_swapped(self) -> bool:
        """In a rebase or cherry-pick, git's "ours" (stage 2) is the other branch."""
        return self.kind in ("rebase", "cherry-pick")


def context_of(project: GitProject | None) -> Context:
    if project is None:
        return Context(None)
    import pygit2

    repo = project.repo
    gitdir = Path(repo.path)
    head = None if repo.head_is_unborn else repo.head.peel(pygit2.Commit)

    def commit_in(*names: str) -> pygit2.Commit | None:
        for name in names:
            try:
                text = (gitdir / name).read_text().split()
            except OSError:
                continue
            if text:
                try:
                    return repo.revparse_single(text[0]).peel(pygit2.Commit)
                except (KeyError, ValueError, pygit2.GitError):
                    continue
        return None

    merging = commit_in("MERGE_HEAD")
    if merging is not None:
        label = _branch_label(_read(gitdir / "MERGE_MSG")) or f"commit {merging.short_id}"
        return Context("merge", head, merging, label)
    if (gitdir / "rebase-merge").is_dir() or (gitdir / "rebase-apply").is_dir():
        replayed = commit_in("REBASE_HEAD", "rebase-merge/stopped-sha",
                             "rebase-apply/original-commit")
        onto = _read(gitdir / "rebase-merge" / "onto") or _read(gitdir / "rebase-apply" / "onto")
        label = f"the new base {onto[:7]}" if onto else "the new base"
        return Context("rebase", replayed, head, label)
    picked = commit_in("CHERRY_PICK_HEAD")
    if picked is not None:
        return Context("cherry-pick", picked, head, "the current branch")
    if head is not None and len(head.parents) >= 2:
        theirs = head.parents[1]
        label = _branch_label(head.message) or f"commit {theirs.short_id}"
        return Context("merge commit", head.parents[0], theirs, label)
    return Context(None)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _branch_label(message: str) -> str | None:
    """`Merge branch 'feature'` -> `feature`, for messages."""
    first = message.strip().splitlines()[:1]
    if first and "'" in first[0]:
        parts = first[0].split("'")
        if len(parts) >= 3:
            return parts[1]
    return None


def names_in(tree: pygit2.Tree, folder: str) -> set[str]:
    import pygit2

    try:
        sub = tree[folder] if folder else tree
    except KeyError:
        return set()
    if not isinstance(sub, pygit2.Tree):
        return set()
    return {str(e.name)[:-3] for e in sub if FILE_RE.match(str(e.name))}
