"""The commit checked out where migrate runs, which each history row records.

Apart from gitmig.db.connection so that a path without SQLAlchemy (gitmig.db.sqlpath)
records the same commit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_SHA = re.compile(r"^[0-9a-f]{40}$")


def git_head(folder: Path) -> str | None:
    """The commit checked out in the repository holding folder, if there is one."""
    found = _head_from_files(folder)
    if found is not None:
        return found
    try:
        import pygit2
    except ImportError:
        return None
    try:
        path = pygit2.discover_repository(str(folder))
        if path is None:
            return None
        repo = pygit2.Repository(path)
        if repo.head_is_unborn:
            return None
        return str(repo.head.target)
    except Exception:  # an unreadable repository only means "unknown"
        return None


def _head_from_files(folder: Path) -> str | None:
    """HEAD's commit read from the files of a plain repository (`.git` a folder, HEAD on a
    branch whose ref is a loose file or in packed-refs, or detached), which spares
    importing pygit2 on every migrate; None for anything else (a linked worktree, reftable,
    an unborn branch, a symbolic ref chain), which pygit2 then answers."""
    for at in [folder.resolve(), *folder.resolve().parents]:
        dot_git = at / ".git"
        if dot_git.exists():
            break
    else:
        return None
    try:
        if (not dot_git.is_dir() or (dot_git / "reftable").exists()
                or dot_git.stat().st_uid != os.getuid()):  # another user's: pygit2 decides
            return None
        head = (dot_git / "HEAD").read_text(encoding="ascii").strip()
        if _SHA.match(head):
            return head
        if not head.startswith("ref: refs/"):
            return None
        ref = head.removeprefix("ref: ")
        loose = dot_git / ref
        if loose.is_file():
            value = loose.read_text(encoding="ascii").strip()
            return value if _SHA.match(value) else None
        packed = dot_git / "packed-refs"
        if packed.is_file():
            for line in packed.read_text(encoding="ascii").splitlines():
                sha, _, name = line.partition(" ")
                if name == ref and _SHA.match(sha):
                    return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None
