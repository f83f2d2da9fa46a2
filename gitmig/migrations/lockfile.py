"""The lock file: one small file per migrations folder that makes git itself see conflicts.

`<migrations folder>/gitmig.lock` names the app's latest migration and holds the last
link of a hash chain over all of the app's migrations in name order (each link is
sha256 of the previous link, the name and the checksum of what the migration does).
Two branches that each add a migration to an app rewrite the same two lines, so git
cannot merge them silently: not on a laptop with gitmig's hooks, and not on a hosting
site where no hook runs. And as a checksum covers a migration's operations, a committed
migration edited afterwards breaks the chain: the lock no longer matches its folder.

The lock is not a .py file, so the loader never mistakes it for a migration. A folder
without one (a project from before lock files) is fine; the next makemigrations adds it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError
from gitmig.migrations.graph import MigrationFile

if TYPE_CHECKING:
    from gitmig.config import Config
    from gitmig.git.snapshot import GitProject
    from gitmig.migrations.graph import MigrationGraph

LOCK_NAME = "gitmig.lock"

OK = "ok"
MISSING = "missing"  # no lock file: an older project, not an error
CONFLICTED = "conflicted"  # git's conflict markers: two branches added migrations
STALE = "stale"  # readable, but it does not match the migrations
UNDECIDED = "undecided"  # several latest migrations (or none): no single lock to expect
OLD_FORMAT = "old-format"  # matches, over the checksums an older gitmig computed

_MARKERS = (b"<<<<<<<", b"=======", b">>>>>>>", b"|||||||")


@dataclass(frozen=True)
class Lock:
    leaf: str
    chain: str


def chain(files: Iterable[tuple[str, str]]) -> str:
    """The last link over (name, checksum) pairs taken in name order, starting from ""."""
    link = ""
    for name, checksum in sorted(files):
        link = next_link(link, name, checksum)
    return link


def next_link(link: str, name: str, checksum: str) -> str:
    """The chain one migration further: a new last name needs no walk over the others."""
    return hashlib.sha256(f"{link}\n{name}\n{checksum}".encode()).hexdigest()


def expected(files: Sequence[MigrationFile], leaves: Sequence[str]) -> Lock | None:
    """What the lock of a folder holding `files` says; None without exactly one leaf."""
    if len(leaves) != 1:
        return None
    return Lock(leaves[0], chain((f.name, f.checksum) for f in files))


def legacy_expected(files: Sequence[MigrationFile], leaves: Sequence[str]) -> Lock | None:
    """The lock an older gitmig wrote for these very files (format 1 checksums)."""
    if len(leaves) != 1 or any(not f.legacy_checksum for f in files):
        return None
    return Lock(leaves[0], chain((f.name, f.legacy_checksum) for f in files))


def render(app: str, lock: Lock) -> str:
    return (
        f"# gitmig lock file of app {app!r}, kept by makemigrations and resolve; do not edit. "
        "leaf: the latest migration; chain: the last link of sha256 over every migration in "
        'name order, link = sha256(previous link + "\\n" + name + "\\n" + checksum of its '
        'operations), starting from "". A git conflict here means two branches added '
        f"migrations: run `gitmig resolve {app}`.\n"
        f"leaf: {lock.leaf}\n"
        f"chain: {lock.chain}\n"
    )


def parse(data: bytes) -> Lock | None:
    """The lock a file's bytes hold; None when they are not a lock (or hold conflict markers)."""
    if has_conflict_markers(data):
        return None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep:
            return None
        values[key.strip()] = value.strip()
    if set(values) != {"leaf", "chain"}:
        return None
    return Lock(values["leaf"], values["chain"])


def has_conflict_markers(data: bytes) -> bool:
    return any(line.startswith(_MARKERS) for line in data.splitlines())


@dataclass(frozen=True)
class Verdict:
    state: str
    recorded: Lock | None = None
    wanted: Lock | None = None

    @property
    def ok(self) -> bool:
        return self.state in (OK, MISSING, UNDECIDED, OLD_FORMAT)


def verify(files: Sequence[MigrationFile], leaves: Sequence[str], data: bytes | None) -> Verdict:
    """How a lock file's bytes (None: no file) compare with the folder's migrations."""
    wanted = expected(files, leaves)
    if data is None:
        return Verdict(MISSING, None, wanted)
    if has_conflict_markers(data):
        return Verdict(CONFLICTED, None, wanted)
    recorded = parse(data)
    if wanted is None:
        return Verdict(UNDECIDED, recorded, None)
    if recorded != wanted:
        if recorded is not None and recorded == legacy_expected(files, leaves):
            return Verdict(OLD_FORMAT, recorded, wanted)
        return Verdict(STALE, recorded, wanted)
    return Verdict(OK, recorded, wanted)


def path_of(config: Config, app: str) -> Path:
    return config.apps[app].migrations / LOCK_NAME


def verify_worktree(config: Config, graph: MigrationGraph, app: str) -> Verdict:
    path = path_of(config, app)
    try:
        data: bytes | None = path.read_bytes()
    except FileNotFoundError:
        data = None
    except OSError as exc:
        raise GitmigError(f"cannot read the lock file: {exc.strerror}", path=str(path)) from None
    return verify(graph.app_nodes(app), [n for _, n in graph.leaves(app)], data)


def write(path: Path, text: str) -> bool:
    """Put `text` in the lock file (atomically: a reader sees the old or the new one).
    False when it already holds exactly that."""
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise GitmigError(f"cannot write the lock file: {exc.strerror}", path=str(path)) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return True


# -- why a lock no longer matches: its folder compared with the last state it recorded ---


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
                if name == LOCK_NAME:
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
            recorded = parse(lock_data) if lock_data is not None else None
            if recorded is not None and recorded.chain in (chain(files.items()),
                                                           chain(legacy.items())):
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


# -- keeping it: makemigrations ------------------------------------------------------------


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
        verdict = verify_worktree(config, graph, app)
        if verdict.wanted is None or verdict.state == OK:
            continue
        path = path_of(config, app)
        shown = _shown(path)
        if verdict.state == OLD_FORMAT:
            write(path, render(app, verdict.wanted))
            lines.append(f"Upgraded {shown} to the checksums that cover whole migration "
                         "files (the migrations are unchanged)")
            continue
        if verdict.state == MISSING:
            write(path, render(app, verdict.wanted))
            if app not in written:
                lines.append(f"Created {shown}")
            continue
        if not opened:
            opened.append(_project(config))
        why = _explain_worktree(opened[0], config, graph, app)
        if why.drafts_only or app in written:
            if not why.drafts_only:
                warnings.append(f"{shown} did not match the migrations: {why.describe()}; "
                                "it now records them as they are")
            write(path, render(app, verdict.wanted))
            if app not in written:
                lines.append(f"Updated {shown} ({why.describe()})")
            continue
        warnings.append(f"{shown} does not match the migrations: {why.describe()}; "
                        "see `gitmig conflicts`")
    return lines, warnings


def _explain_worktree(project: GitProject | None, config: Config, graph: MigrationGraph,
                      app: str) -> Explanation:
    now = {f.name: f.checksum for f in graph.app_nodes(app)}
    if project is None:
        return Explanation(added=sorted(now), at_head=True)
    folder = project.relative(config.apps[app].migrations, "the migrations folder")
    return explain(project, folder, app, now)


def _project(config: Config) -> GitProject | None:
    from gitmig.git.snapshot import GitProject

    try:
        return GitProject(config)
    except GitmigError:
        return None


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)
