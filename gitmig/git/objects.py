"""Migration files the working tree no longer has, found again in git's objects.

Switching branches takes a migration's file away while the database keeps it applied;
its file is still in git, in a commit that a branch, a tag or a reflog reaches (HEAD's
reflog remembers even a deleted branch's commits). This module looks for it there by
path (<migrations folder>/<name>.py), newest commits first, and prefers the version whose
bytes hash to the SHA-256 the database recorded, then one whose checksum is the one
recorded. Finding a file only parses it (the loader's ast reader); a file is written out
(into .git/gitmig/blobs/<blob id>/, once per blob) and imported only when the user asks to
unapply it and its bytes are those this database applied: it is their own migration, and
it ran on this database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pygit2

from gitmig.atomic import temp_dir_prefix
from gitmig.cache import digest
from gitmig.errors import GitmigError
from gitmig.git.snapshot import GitProject, common_dir, repo_path
from gitmig.migrations.graph import Key, MigrationFile
from gitmig.migrations.loader import parse_migration

if TYPE_CHECKING:
    from gitmig.db.history.rows import Applied


@dataclass(frozen=True)
class Found:
    """A version of a missing migration's file in git."""

    key: Key
    commit: str  # the newest commit found holding this version
    blob: str
    path: str  # repository-relative
    file: MigrationFile  # parsed from the blob; its path reads `commit:path`; digest set
    matches: bool  # its checksum is the one recorded when it was applied
    exact: bool = False  # its bytes hash to the SHA-256 recorded: the very file applied

    @property
    def short_commit(self) -> str:
        return self.commit[:7]


def find(project: GitProject, wanted: Mapping[Key, Applied]) -> dict[Key, Found]:
    """The files of `wanted` (key -> its history row) in git's history.

    For each key: the newest version whose bytes are those recorded, else the newest
    whose checksum matches, else the newest version. Keys found nowhere are left out.
    Commits are read newest first (with the commits the rows name, even ones no ref
    reaches any more), and a commit whose migrations folder is one already looked at is
    skipped, so a long history costs little more than walking it.
    """
    worktree = project.worktree()
    apps = worktree.layout.apps
    folders: dict[str, list[Key]] = {}
    for key in wanted:
        if key[0] in apps:
            folders.setdefault(apps[key[0]].migrations, []).append(key)
    if not folders:
        return {}
    repo = project.repo
    best: dict[Key, Found] = {}
    done: set[Key] = set()
    seen_folders: set[tuple[str, str]] = set()
    parsed: dict[tuple[Key, str], MigrationFile | None] = {}
    named = [a.git_commit for a in wanted.values() if a.git_commit]
    for commit in _commits(repo, named):
        for folder, keys in folders.items():
            tree = subtree(commit.tree, folder)
            if tree is None or (folder, str(tree.id)) in seen_folders:
                continue
            seen_folders.add((folder, str(tree.id)))
            for key in keys:
                if key in done:
                    continue
                entry = _blob(tree, f"{key[1]}.py")
                if entry is None:
                    continue
                blob_id = str(entry.id)
                if (key, blob_id) not in parsed:
                    parsed[(key, blob_id)] = _parse(key, entry, f"{commit.short_id}:"
                                                    f"{repo_path(folder, key[1] + '.py')}")
                f = parsed[(key, blob_id)]
                if f is None:
                    continue
                row = wanted[key]
                matches = f.checksum == row.checksum
                exact = row.content is not None and f.digest == row.content
                rank = (exact, matches)
                if key not in best or rank > (best[key].exact, best[key].matches):
                    best[key] = Found(key, str(commit.id), blob_id,
                                      repo_path(folder, key[1] + ".py"), f, matches, exact)
                if exact or (matches and row.content is None):
                    done.add(key)
        if len(done) == len(wanted):
            break
    return best


def _commits(repo: pygit2.Repository, named: list[str]) -> Iterator[pygit2.Commit]:
    """Every commit reachable from HEAD, a reference, a reflog entry or one of the
    `named` commits (if git still has them), newest first."""
    tips: list[pygit2.Oid] = []
    for text in named:
        with contextlib.suppress(KeyError, ValueError, TypeError, pygit2.GitError):
            tips.append(pygit2.Oid(hex=text))
    names = ["HEAD", *repo.references]
    for name in names:
        try:
            ref = repo.references[name]
        except (KeyError, pygit2.GitError, ValueError):
            continue
        with contextlib.suppress(pygit2.GitError, KeyError, ValueError):
            target = ref.resolve().target
            if isinstance(target, pygit2.Oid):
                tips.append(target)
        with contextlib.suppress(pygit2.GitError, KeyError, ValueError):
            for entry in ref.log():
                tips.append(entry.oid_new)
    walker: pygit2.Walker | None = None
    for oid in dict.fromkeys(tips):
        try:
            commit = repo[oid].peel(pygit2.Commit)
        except (KeyError, ValueError, pygit2.GitError):
            continue  # pruned, or a tag of something else
        if walker is None:
            walker = repo.walk(commit.id, pygit2.enums.SortMode.TIME)
        else:
            walker.push(commit.id)
    if walker is None:
        return
    try:
        yield from walker
    except (KeyError, pygit2.GitError):  # a shallow or damaged history ends the search
        return


def subtree(tree: pygit2.Tree, folder: str) -> pygit2.Tree | None:
    """The folder's tree inside `tree`, or None where the folder does not exist."""
    if not folder:
        return tree
    try:
        obj = tree[folder]
    except KeyError:
        return None
    return obj if isinstance(obj, pygit2.Tree) else None


def _blob(tree: pygit2.Tree, name: str) -> pygit2.Blob | None:
    try:
        obj = tree[name]
    except KeyError:
        return None
    return obj if isinstance(obj, pygit2.Blob) else None


def _parse(key: Key, blob: pygit2.Blob, shown: str) -> MigrationFile | None:
    try:
        parsed = parse_migration(key[0], key[1], blob.data, shown)
    except GitmigError:
        return None  # a broken version: another may do
    return replace(parsed, digest=digest(blob.data))


def export(project: GitProject, found: Found) -> MigrationFile:
    """The found file written out (once per blob), as a graph node runnable from there.
    A copy written before is used only while its bytes are still the blob's."""
    cache = common_dir(project.repo) / "gitmig" / "blobs"
    folder = cache / found.blob
    path = folder / f"{found.key[1]}.py"
    if not _holds(path, found.file.digest):
        shutil.rmtree(folder, ignore_errors=True)
    if not path.is_file():
        blob = project.repo[found.blob]
        assert isinstance(blob, pygit2.Blob)
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=temp_dir_prefix(), dir=cache))
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
            with os.fdopen(os.open(tmp / path.name, flags, 0o644), "wb") as f:
                f.write(blob.data)
            try:
                os.rename(tmp, folder)
            except OSError:
                shutil.rmtree(tmp, ignore_errors=True)
                if not path.is_file():
                    raise
        except OSError as exc:
            raise GitmigError(f"cannot write gitmig's cache in {cache}: {exc.strerror}") from None
    if not _holds(path, found.file.digest):
        raise GitmigError(f"gitmig's copy of {found.path} from git, {path}, does not hold the "
                          "file git has; nothing was run",
                          hint=f"delete the folder {folder} and run the command again")
    return replace(found.file, path=str(path))


def _holds(path: Path, expected: str) -> bool:
    """Whether the file is there, a plain file (no link), with bytes hashing to `expected`."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        return digest(path.read_bytes()) == expected
    except OSError:
        return False
