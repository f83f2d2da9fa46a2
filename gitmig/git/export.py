"""A snapshot's files written out for a child process to import, and nothing else written.

A tree from git may have arrived by a plain fetch from anyone, and git's objects accept
what `git checkout` would refuse; so writing one out refuses those entries, never writes
through a link, and leaves no link that leads out of the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pygit2

from gitmig.errors import GitmigError

CACHE_KEEP = 16  # exported trees kept; older ones are removed when a new one is written
BIG_BLOB = 1 << 20  # non-Python files larger than this are not exported
SOURCE_SUFFIXES = (".py", ".pyi", ".toml")


_UNSAFE_NAME = re.compile(r"^(|\.|\.\.|\.git)$|[/\x00]", re.IGNORECASE)
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def write_tree(tree: pygit2.Tree, folder: Path, where: str = "") -> None:
    """A tree's files written into the new, empty `folder`; nothing is written elsewhere.

    Git would refuse to check out what is refused here (a crafted tree can still arrive by
    a plain fetch): names that are empty, `.`, `..`, `.git` or hold a slash, two entries
    of one name, and symbolic links that lead out of the folder. Files are created with
    O_EXCL and O_NOFOLLOW, so no write ever goes through a link.
    """
    _write_entries(tree, folder, where)
    root = os.path.realpath(folder)
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            if os.path.islink(path):
                real = os.path.realpath(path)
                if real != root and not real.startswith(root + os.sep):
                    shown = _joined(where, os.path.relpath(path, folder))
                    raise UnsafeTree(f"{shown!r} is a symbolic link that leads out of the "
                                     "project's files")


class UnsafeTree(GitmigError):
    """A tree holds an entry git itself would not check out."""


def _write_entries(tree: pygit2.Tree, folder: Path, where: str) -> None:
    seen: set[str] = set()
    for entry in tree:
        name = str(entry.name)
        shown = _joined(where, name)
        if _UNSAFE_NAME.search(name):
            raise UnsafeTree(f"it holds an entry named {shown!r}")
        if name.lower() in seen:  # lower: the same file on a case-insensitive disk too
            raise UnsafeTree(f"it holds two entries named {shown!r}")
        seen.add(name.lower())
        path = folder / name
        if isinstance(entry, pygit2.Tree):
            path.mkdir()  # fails on anything already there, a link included
            _write_entries(entry, path, _joined(where, name))
        elif isinstance(entry, pygit2.Blob):
            mode = entry.filemode
            if mode == pygit2.enums.FileMode.LINK:
                target = entry.data.decode("utf-8", "surrogateescape")
                if "\x00" in target or os.path.isabs(target):
                    raise UnsafeTree(f"{shown!r} is a symbolic link that leads out of the "
                                     "project's files")
                os.symlink(target, path)
                continue
            if entry.size > BIG_BLOB and not name.endswith(SOURCE_SUFFIXES):
                continue
            executable = mode == pygit2.enums.FileMode.BLOB_EXECUTABLE
            fd = os.open(path, _WRITE_FLAGS, 0o755 if executable else 0o644)
            with os.fdopen(fd, "wb") as f:
                f.write(entry.data)
        # submodules (commits) are not part of the snapshot's own files


def prune(cache: Path, keep: Path) -> None:
    """Keep the most recently used exported trees; drop abandoned temporary folders."""
    try:
        entries = [p for p in cache.iterdir() if p.is_dir()]
    except OSError:
        return
    now = time.time()
    trees = []
    for p in entries:
        try:
            mtime = p.stat().st_mtime
        except OSError:
            continue
        if p.name.startswith(".tmp-"):
            if now - mtime > 3600:
                shutil.rmtree(p, ignore_errors=True)
        else:
            trees.append((mtime, p))
    trees.sort(reverse=True)
    for _, p in trees[CACHE_KEEP:]:
        if p != keep:
            shutil.rmtree(p, ignore_errors=True)


def _joined(where: str, name: str) -> str:
    """A path of the tree as the user knows it (relative to the repository's top)."""
    return f"{where}/{name}" if where else name
