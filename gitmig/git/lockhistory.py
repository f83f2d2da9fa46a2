"""Why a lock file no longer matches its folder, found in git's history, and keeping the
lock files up to date after makemigrations (which says, rather than hides, an edit to
committed history). The file format itself is gitmig.migrations.lockfile."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.project import project_or_none, shown_path
from gitmig.migrations import lockfile

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject
    from gitmig.migrations.graph import MigrationGraph


@dataclass
class Explanation:
    """How the migrations differ from the last state in which the lock matched them."""

    edited: list[str] = field(default_factory=list)  # same name, other operations
    added: list[str] = field(default_factory=list)  # not recorded by the lock
    removed: list[str] = field(default_factory=list)  # recorded, gone
    reference: str | None = None  # the commit of that state (short id); None: unknown
    at_head: bool = False  # that state is HEAD's: the differences are not committed

    @property
    def drafts_only(self) -> bool:
        """Only migrations new since HEAD differ: makemigrations may bring the lock up
        to date without hiding an edit to history."""
        return self.at_head and not self.edited and not self.removed

    def describe(self) -> str:
        parts = []
        since = "since it was committed" if self.at_head else "after the lock recorded it"
        if self.edited:
            parts.append(f"{_names(self.edited)} changed {since} (its operations differ)"
                         if len(self.edited) == 1 else
                         f"{_names(self.edited)} changed {since} (their operations differ)")
        if self.removed:
            parts.append(f"{_names(self.removed)} {_was(self.removed)} removed")
        if self.added:
            state = "it is" if len(self.added) == 1 else "they are"
            parts.append(f"it does not record {_names(self.added)} as {state} now")
        if not parts:
            return "a migration was added, removed or changed without updating it"
        text = "; ".join(parts)
        if self.reference and not self.at_head:
            text += f" (the lock last matched the migrations at commit {self.reference})"
        return text


def _names(names: list[str]) -> str:
    return ", ".join(names)


def _was(names: list[str]) -> str:
    return "was" if len(names) == 1 else "were"


def _is(names: list[str]) -> str:
    return "is" if len(names) == 1 else "are"


HISTORY_DEPTH = 200  # commits walked back to find where a lock last matched its folder


def explain(
    project: GitProject | None,
    folder: str,
    app: str,
    now: dict[str, str],
    start: str = "HEAD",
) -> Explanation:
    """Why the lock of `folder` (repository-relative) does not match `now` (name ->
    checksum), found by walking back from `start` along first parents to the newest
    commit whose lock matched its own migrations. Blobs are parsed, never run; each one
    once."""
    import pygit2

    from gitmig.migrations.loader import FILE_RE, parse_migration

    if project is None:
        return Explanation(added=sorted(now), at_head=True)
    repo = project.repo
    try:
        commit = repo.revparse_single(start).peel(pygit2.Commit)
    except (KeyError, ValueError, pygit2.GitError):
        return Explanation(added=sorted(now), at_head=True)  # no commit yet: all drafts
    checksums: dict[str, tuple[str, str]] = {}
    seen_trees: set[str] = set()
    at_head = True
    for _ in range(HISTORY_DEPTH):
        try:
            tree = commit.tree[folder]
        except KeyError:
            tree = None
        if not isinstance(tree, pygit2.Tree):
            break  # before the folder existed: the lock recorded nothing there
        if str(tree.id) not in seen_trees:
            seen_trees.add(str(tree.id))
            files: dict[str, str] = {}
            legacy: dict[str, str] = {}
            lock_data: bytes | None = None
            for entry in tree:
                name = str(entry.name)
                if not isinstance(entry, pygit2.Blob):
                    continue
                if name == lockfile.LOCK_NAME:
                    lock_data = entry.data
                elif FILE_RE.match(name):
                    key = str(entry.id)
                    if key not in checksums:
                        try:
                            f = parse_migration(app, name[:-3], entry.data, name)
                            checksums[key] = (f.checksum, f.legacy_checksum)
                        except GitmigError:
                            checksums[key] = ("", "")
                    files[name[:-3]], legacy[name[:-3]] = checksums[key]
            if lock_data is None and at_head:
                # The lock was never committed: what HEAD has is all it can have recorded.
                return _compare(files, now, str(commit.short_id), at_head)
            recorded = lockfile.parse(lock_data) if lock_data is not None else None
            if recorded is not None and recorded.chain in (lockfile.chain(files.items()),
                                                           lockfile.chain(legacy.items())):
                return _compare(files, now, str(commit.short_id), at_head)
        if not commit.parents:
            break
        commit = commit.parents[0]
        at_head = False
    return Explanation()


def _compare(then: dict[str, str], now: dict[str, str], reference: str,
             at_head: bool) -> Explanation:
    gone = {n for n in then if n not in now}
    new = {n for n in now if n not in then}
    renamed_checksums = {then[n] for n in gone} & {now[n] for n in new}
    return Explanation(
        edited=sorted(n for n in then if n in now and then[n] != now[n]),
        added=sorted(n for n in new if now[n] not in renamed_checksums),
        removed=sorted(n for n in gone if then[n] not in renamed_checksums),
        reference=reference,
        at_head=at_head,
    )


def refresh(
    config: Config, graph: MigrationGraph, written: Iterable[str] = ()
) -> tuple[list[str], list[str]]:
    """Bring the working tree's lock files up to date after makemigrations; returns what
    was done and warnings, as lines for the user.

    A missing lock is created, and an app that just got a new migration gets its lock
    rewritten. A lock that no longer matches is rewritten only when the difference is in
    migrations not committed yet (a draft edited by hand): otherwise it records a change
    to history, which is said, not hidden.
    """
    if not config.lockfile:
        return [], []
    opened: list[GitProject | None] = []  # the repository, opened when a lock needs explaining
    lines: list[str] = []
    warnings: list[str] = []
    written = set(written)
    for app in config.apps:
        verdict = lockfile.verify_worktree(config, graph, app)
        if verdict.wanted is None or verdict.state == lockfile.OK:
            continue
        path = lockfile.path_of(config, app)
        shown = shown_path(path)
        if verdict.state == lockfile.OLD_FORMAT:
            lockfile.write(path, lockfile.render(app, verdict.wanted))
            lines.append(f"Upgraded {shown} to the checksums that cover whole migration "
                         "files (the migrations are unchanged)")
            continue
        if verdict.state == lockfile.MISSING:
            lockfile.write(path, lockfile.render(app, verdict.wanted))
            if app not in written:
                lines.append(f"Created {shown}")
            continue
        if not opened:
            opened.append(project_or_none(config))
        why = _explain_worktree(opened[0], config, graph, app)
        if why.drafts_only or app in written:
            if not why.drafts_only:
                warnings.append(_rewritten(shown, why))
            lockfile.write(path, lockfile.render(app, verdict.wanted))
            if app not in written:
                lines.append(f"Updated {shown} ({why.describe()})")
            continue
        warnings.append(f"{shown} does not match the migrations: {why.describe()}; "
                        "see `gitmig conflicts`")
    return lines, warnings


def rewrite_warning(config: Config, graph: MigrationGraph, app: str) -> str | None:
    """What to say when the lock of `app` is rewritten to match `graph` although it did not
    match for another reason than new drafts (an edit to history): said, not hidden."""
    why = _explain_worktree(project_or_none(config), config, graph, app)
    return None if why.drafts_only else _rewritten(shown_path(lockfile.path_of(config, app)), why)


def _rewritten(shown: str, why: Explanation) -> str:
    return (f"{shown} did not match the migrations: {why.describe()}; it now records them "
            "as they are")


def _explain_worktree(project: GitProject | None, config: Config, graph: MigrationGraph,
                      app: str) -> Explanation:
    now = {f.name: f.checksum for f in graph.app_nodes(app)}
    if project is None:
        return Explanation(added=sorted(now), at_head=True)
    folder = project.relative(config.apps[app].migrations, "the migrations folder")
    return explain(project, folder, app, now)

