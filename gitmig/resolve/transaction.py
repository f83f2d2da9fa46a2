"""Writing the result: files and git's index changed together through one journaled batch
(gitmig.atomic), or not at all."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.atomic import Change, Transaction, scratch_prefix
from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.projectlock import journal_path
from gitmig.migrations import lockfile
from gitmig.resolve.entries import OURS_SUFFIX, Entry
from gitmig.resolve.index import Conflicts
from gitmig.resolve.parents import text_of

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject


@dataclass
class FileChange:
    path: Path  # where the text goes
    text: bytes
    old: Path | None = None  # a file this one replaces (removed)
    new_file: bool = False  # the path must not exist yet


def changes_of(config: Config, entries: dict[str, dict[str, Entry]], new_files: list[Entry],
             locks: dict[str, str]) -> list[FileChange]:
    out = []
    for app_entries in entries.values():
        for e in app_entries.values():
            text = text_of(e)
            target = e.path.with_name(f"{e.final}.py")
            if e.key.endswith(OURS_SUFFIX):
                out.append(FileChange(target, text, new_file=True))
            elif e.new_name:
                out.append(FileChange(target, text, old=e.path, new_file=True))
            elif text != e.text or e.from_index:
                out.append(FileChange(target, text))
    for e in new_files:
        out.append(FileChange(e.path, e.text, new_file=True))
    for app, lock_text in locks.items():
        out.append(FileChange(lockfile.path_of(config, app), lock_text.encode()))
    return out


class ResolveTransaction:
    """Write files and update git's index; on any failure put every file and the index
    back exactly as they were."""

    def __init__(self, project: GitProject | None, config: Config, conflicts: Conflicts):
        self.project = project
        self.config = config
        self.conflicts = conflicts

    def apply(self, changes: list[FileChange]) -> None:
        index = self.project.repo.index if self.project is not None else None
        self._refuse_unstaged(index, changes)
        for c in changes:
            if c.new_file and os.path.lexists(c.path):
                raise GitmigError(f"{c.path} already exists; gitmig never overwrites a file; "
                                  "nothing was changed")
        batch = [Change(c.path, c.text, new_file=c.new_file) for c in changes]
        batch += [Change(c.old, None) for c in changes if c.old is not None]
        if self.project is not None:
            batch.append(self._index_change(changes))
        Transaction(journal_path(self.config.root), "gitmig resolve").apply(batch)

    def _repo_path(self, path: Path) -> str:
        assert self.project is not None
        return self.project.relative(path, "file")

    def _refuse_unstaged(self, index: pygit2.Index | None, changes: list[FileChange]) -> None:
        """A file resolve renames or edits must not hold edits git has not staged: staging
        the result would take them along."""
        import pygit2

        if index is None:
            return
        conflicted = set(self.conflicts.added_both) | set(self.conflicts.locks.values())
        for c in changes:
            for path in (c.old, None if c.new_file else c.path):
                if path is None or not path.is_file():
                    continue
                rel = self._repo_path(path)
                if rel in conflicted or path.name == lockfile.LOCK_NAME:
                    continue  # a lock file is only ever derived from the migrations
                try:
                    staged = index[rel].id
                except KeyError:
                    continue  # not tracked: nothing to take along
                if pygit2.hashfile(str(path)) != staged:
                    raise GitmigError(
                        f"{rel} has changes that are not staged; stage them (git add) or "
                        "discard them first, then run `gitmig resolve` again; nothing was "
                        "changed"
                    )

    def _index_change(self, changes: list[FileChange]) -> Change:
        """git's index as it will be, built beside it (so it joins the batch as one more
        file): the old paths gone, the new texts staged, their conflicts resolved."""
        import pygit2

        assert self.project is not None
        repo = self.project.repo
        index_path = Path(repo.path) / "index"
        try:
            data = index_path.read_bytes()
        except FileNotFoundError:
            data = None
        except OSError as exc:
            raise GitmigError(f"cannot read git's index: {exc.strerror}") from None
        with tempfile.TemporaryDirectory(prefix=scratch_prefix("index")) as tmp:
            scratch = Path(tmp) / "index"
            if data is not None:
                scratch.write_bytes(data)
            index = pygit2.Index(str(scratch))
            try:
                modes = {}
                for c in changes:
                    rels = [self._repo_path(c.path)]
                    if c.old is not None:
                        rels.append(self._repo_path(c.old))
                    modes[rels[0]] = next((m for m in map(_stage0_mode, [index] * 2, rels)
                                           if m is not None), pygit2.enums.FileMode.BLOB)
                    conflicted = index.conflicts
                    for rel in rels:
                        if conflicted is not None and rel in conflicted:
                            del conflicted[rel]
                        if _stage0_mode(index, rel) is not None:
                            index.remove(rel)
                for c in changes:
                    rel = self._repo_path(c.path)
                    oid = repo.create_blob(c.text)
                    index.add(pygit2.IndexEntry(rel, oid, pygit2.enums.FileMode(modes[rel])))
                index.write()
            except (pygit2.GitError, OSError, ValueError) as exc:
                raise GitmigError(f"cannot update git's index: {exc}; nothing was "
                                  "changed") from None
            return Change(index_path, scratch.read_bytes(), git_index=True)


def _stage0_mode(index: pygit2.Index, rel: str) -> int | None:
    """The mode of `rel`'s resolved entry in the index; None when it has none."""
    try:
        return int(index[rel].mode)
    except KeyError:
        return None
