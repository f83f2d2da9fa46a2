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

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig import regular
from gitmig.atomic import write_file
from gitmig.errors import GitmigError
from gitmig.migrations.graph import MigrationFile

if TYPE_CHECKING:
    from gitmig.config import Config
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
    data = read_worktree(path_of(config, app))
    return verify(graph.app_nodes(app), [n for _, n in graph.leaves(app)], data)


def read_worktree(path: Path) -> bytes | None:
    """The lock file's bytes, None when there is none; refused when it cannot be read or
    is no regular file (a FIFO would block the read)."""
    try:
        return regular.read_bytes(path)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GitmigError(f"cannot read the lock file: {exc.strerror}", path=str(path)) from None


def write(path: Path, text: str) -> bool:
    """Put `text` in the lock file (atomically: a reader sees the old or the new one).
    False when it already holds exactly that."""
    try:
        if regular.read_text(path) == text:
            return False
    except (OSError, UnicodeDecodeError):
        pass
    try:
        write_file(path, text)
    except OSError as exc:
        raise GitmigError(f"cannot write the lock file: {exc.strerror}", path=str(path)) from None
    return True
