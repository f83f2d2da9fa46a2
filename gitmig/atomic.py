"""Writing files so that none is ever half-written, and no batch is ever half-done.

The one place gitmig writes files in a user's tree, and the one "put everything back"
for changes that span several files (`makemigrations --amend`, `resolve` and git's
index). A single file is written beside its target and moved over it, so a reader sees
the old text or the new, never a mix. A batch (Transaction) first records, in an intent
journal, every file it will touch as it was and a digest of what it will be; only then
does it write. If it fails, everything is put back at once; if the process is killed,
the next gitmig command finds the journal and finishes the job (gitmig.git.projectlock):
done if every file already holds its new text, otherwise rolled back.

Errors name the user's file, never the temporary one.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmig.errors import GitmigError
from gitmig.processes import alive

# -- fault injection: where the crash tests kill gitmig --------------------------------------

_FAULT = os.environ.get("GITMIG_FAULT")  # "STEP:N" (or "*:N"): exit at the N-th such step
_fault_hits: dict[str, int] = {}


def fault(step: str) -> None:
    """A point where a crash test may kill the process (GITMIG_FAULT); free otherwise."""
    if _FAULT is None:
        return
    wanted, _, count = _FAULT.rpartition(":")
    if wanted not in ("*", step):
        return
    _fault_hits[wanted] = _fault_hits.get(wanted, 0) + 1
    if str(_fault_hits[wanted]) == count:
        os._exit(137)


# -- temporary files, and those of killed runs ------------------------------------------------

# What gitmig's temporary files are called: `.NAME.PID.XXXXXXXX.tmp` beside a file it writes,
# `.tmp-PID-XXXXXXXX` folders for trees it exports (XXXXXXXX: tempfile's random part).
_TEMP_FILE = re.compile(r"^\..+\.(\d+)\.[a-z0-9_]{8}\.tmp$")
_TEMP_DIR = re.compile(r"^\.tmp-(\d+)-[a-z0-9_]{8}$")
# Scratch folders in the system's temporary folder: `gitmig-WHAT-PID-XXXXXXXX`.
_SCRATCH_DIR = re.compile(r"^gitmig-(?:resolve|index|scratch)-(\d+)-[a-z0-9_]{8}$")
# The names earlier versions gave them, without a process id: `.NAME.XXXXXXXX.tmp`;
# `.NAME.XXXXXXXX` for the few files written so (hooks, pyproject.toml, the pre-commit
# record); `.tmp-XXXXXXXX` (state cache files, export folders); `gitmig-WHAT-XXXXXXXX`.
_OLD_TEMP_FILE = re.compile(
    r"^\.(?:.+\.[a-z0-9_]{8}\.tmp|(?:pre-commit|post-merge|post-checkout|pyproject\.toml"
    r"|precommit-watch)\.[a-z0-9_]{8})$")
_OLD_TEMP_DIR = re.compile(r"^\.tmp-[a-z0-9_]{8}$")  # in caches only: a file or a folder
_OLD_SCRATCH_DIR = re.compile(r"^gitmig-(?:resolve|index)-[a-z0-9_]{8}$")
# A name without a process id is a dead run's only when no process holds it open and it
# has not changed for this long; where open files cannot be listed (no /proc), far longer.
_OLD_QUIET = 60.0
_OLD_QUIET_BLIND = 24 * 3600.0
_PROC = Path("/proc")


class _Owners:
    """Which of the old-named leftovers some process still has open (or, for a folder,
    works in). Listing every process's open files costs, so it is done once, and only
    when an old name turns up at all."""

    def __init__(self) -> None:
        self._open: set[str] | None = None

    def gone(self, path: str, is_dir: bool) -> bool:
        import time

        try:
            quiet = time.time() - os.lstat(path).st_mtime
            path = os.path.realpath(path)  # as /proc names it
        except OSError:
            return False
        if not _PROC.is_dir():
            return quiet >= _OLD_QUIET_BLIND
        if quiet < _OLD_QUIET:
            return False
        held = self._held()
        return path not in held and not (is_dir and any(
            h.startswith(path + os.sep) for h in held))

    def _held(self) -> set[str]:
        if self._open is None:
            self._open = set()
            with contextlib.suppress(OSError):
                for proc in os.scandir(_PROC):
                    if proc.name.isdigit():
                        self._open |= _held_by(proc.path)
        return self._open


def _held_by(proc: str) -> set[str]:
    """The files a process has open, and its working folder (what this user may read)."""
    out: set[str] = set()
    with contextlib.suppress(OSError):
        out.add(os.readlink(os.path.join(proc, "cwd")))
    with contextlib.suppress(OSError):
        for fd in os.scandir(os.path.join(proc, "fd")):
            with contextlib.suppress(OSError):
                out.add(os.readlink(fd.path))
    return out


def temp_prefix(name: str) -> str:
    """The prefix of a temporary file written beside `name`: it carries this process's id,
    so that a later run can tell a killed run's leftover from a running one's."""
    return f".{name}.{os.getpid()}."


def temp_dir_prefix() -> str:
    return f".tmp-{os.getpid()}-"


def scratch_prefix(what: str) -> str:
    """The prefix of a scratch folder in the system's temporary folder ("resolve", "index",
    "scratch")."""
    return f"gitmig-{what}-{os.getpid()}-"


def sweep_scratch() -> list[Path]:
    """Remove this user's scratch folders of gitmig runs no longer alive from the system's
    temporary folder."""
    removed: list[Path] = []
    folder = Path(tempfile.gettempdir())
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    owners = _Owners()
    for entry in entries:
        match = _SCRATCH_DIR.match(entry.name)
        if match is not None and alive(int(match.group(1))):
            continue
        if match is None and not (_OLD_SCRATCH_DIR.match(entry.name)
                                  and owners.gone(entry.path, True)):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            if entry.stat(follow_symlinks=False).st_uid != os.getuid():
                continue
            shutil.rmtree(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def sweep(folder: Path, *, folders: bool = False) -> list[Path]:
    """Remove, directly in `folder`, the temporary files (and with `folders`, the exported
    trees' temporary folders) of gitmig runs no longer running (killed before they could
    clean up); anything not named as gitmig names them, or whose process still runs, is
    left alone. Names of earlier versions carry no process id: theirs is gone when no
    process holds the file (or folder) open and it has been left alone for a while
    (_Owners). Returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    owners = _Owners()
    for entry in entries:
        match = _TEMP_FILE.match(entry.name)
        is_dir = False
        if match is None and folders:
            match = _TEMP_DIR.match(entry.name)
            is_dir = match is not None
        if match is not None:
            if alive(int(match.group(1))):
                continue
        elif folders and _OLD_TEMP_DIR.match(entry.name):
            is_dir = entry.is_dir(follow_symlinks=False)
            if not owners.gone(entry.path, is_dir):
                continue
        elif _OLD_TEMP_FILE.match(entry.name):
            if not owners.gone(entry.path, False):
                continue
        else:
            continue
        try:
            if is_dir and entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            elif not is_dir and entry.is_file(follow_symlinks=False):
                os.unlink(entry.path)
            else:
                continue
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


# -- one file ---------------------------------------------------------------------------------


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_copy(path: Path, data: bytes, mode: int | None, durable: bool) -> Path:
    """`data` in a new hidden file beside `path` (mode: `mode`, or what a new file gets)."""
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data[: len(data) // 2])
            fault("half-written")
            f.write(data[len(data) // 2:])
            f.flush()
            if durable:
                os.fsync(f.fileno())
        fault("temp-written")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)


def _sync_dir(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut (where the system allows it)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _named(exc: OSError, path: Path) -> OSError:
    """The same error, naming the user's file instead of a temporary one."""
    return OSError(exc.errno, exc.strerror or str(exc), str(path))


def write_file(path: Path, data: bytes | str, *, durable: bool = True) -> None:
    """Create or replace `path` atomically. A file that exists keeps its mode; a new one
    follows the umask. `durable=False` (caches) skips the fsyncs. Raises OSError naming
    `path`."""
    try:
        mode = os.stat(path).st_mode & 0o7777
    except OSError:
        mode = None
    try:
        tmp = _temp_copy(path, _as_bytes(data), mode, durable)
        try:
            os.replace(tmp, path)
            fault("replaced")
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        raise _named(exc, path) from None
    if durable:
        _sync_dir(path.parent)


def _exists_error(path: Path) -> GitmigError:
    return GitmigError(f"{path} already exists; gitmig never overwrites a file")


def write_new_file(path: Path, data: bytes | str) -> None:
    """Create `path`, which must not exist: never an overwrite, even in a race."""
    try:
        tmp = _temp_copy(path, _as_bytes(data), None, True)
    except OSError as exc:
        raise _named(exc, path) from None
    try:
        try:
            os.link(tmp, path)  # fails if path exists: never overwrite
        except FileExistsError:
            raise _exists_error(path) from None
        except OSError:
            if os.path.lexists(path):
                raise _exists_error(path) from None
            os.rename(tmp, path)  # no hard links on this filesystem
        fault("linked")
    except OSError as exc:
        raise _named(exc, path) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    _sync_dir(path.parent)


def _write_git_index(path: Path, data: bytes) -> None:
    """Replace a file git guards with `NAME.lock` (its index) the way git does: through the
    lock file, so a git command running at the same time is refused rather than lost."""
    lock = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        raise GitmigError(f"cannot update git's index: {lock} exists (another git command "
                          "is running; if none is, remove that file); nothing was changed"
                          ) from None
    try:
        fault("locked")
        with os.fdopen(fd, "wb") as f:
            f.write(data[: len(data) // 2])
            fault("half-written")
            f.write(data[len(data) // 2:])
            f.flush()
            os.fsync(f.fileno())
        fault("temp-written")
        os.replace(lock, path)
        fault("replaced")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        raise
    _sync_dir(path.parent)


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


# -- several files: all or nothing ------------------------------------------------------------


@dataclass
class Change:
    """One file of a batch: `data` at `path` (None: the file is removed)."""

    path: Path
    data: bytes | None
    new_file: bool = False  # the path must not exist yet (never an overwrite)
    git_index: bool = False  # git's index: written through index.lock, as git does


def write_new_files(files: Sequence[tuple[Path, str]], journal: Path | None = None,
                    label: str = "gitmig") -> None:
    """Create every file or none of them (with their missing folders)."""
    made_dirs: list[Path] = []
    for path, _ in files:
        missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
        if missing:
            try:
                path.parent.mkdir(parents=True)
            except OSError as exc:
                _remove_dirs(made_dirs)
                raise _cannot(exc, path, "write") from None
            made_dirs += missing
    try:
        Transaction(journal, label).apply([Change(p, text.encode(), new_file=True)
                                           for p, text in files])
    except BaseException:
        _remove_dirs(made_dirs)
        raise


def _remove_dirs(folders: list[Path]) -> None:
    for folder in folders:
        with contextlib.suppress(OSError):
            folder.rmdir()


def rewrite_files(changes: Sequence[tuple[Path, Path, str]], journal: Path | None = None,
                  extra: Sequence[Change] = (), label: str = "gitmig") -> None:
    """Replace files by new versions, all or none: each (old, new, text) puts `text` at
    `new` (the same path as `old`, or a new name that must not exist) and removes `old`.
    The new file is in place before the old one goes, so a crash loses neither."""
    batch = []
    for old, new, text in changes:
        batch.append(Change(new, text.encode(), new_file=new != old))
    for old, new, _ in changes:
        if new != old:
            batch.append(Change(old, None))
    Transaction(journal, label).apply([*batch, *extra])


def _cannot(exc: OSError, path: Path, verb: str) -> GitmigError:
    where = exc.filename or path
    reason = "permission denied" if isinstance(exc, PermissionError) else exc.strerror
    return GitmigError(f"cannot {verb} {where}: {reason}; nothing was changed")


class Transaction:
    """Files changed together or not at all. With a journal path, the intent is recorded
    there first so that a killed process can be finished by the next one (recover)."""

    def __init__(self, journal: Path | None = None, label: str = "gitmig") -> None:
        self.journal = journal
        self.label = label

    def apply(self, changes: Sequence[Change]) -> None:
        for c in changes:
            if c.new_file and os.path.lexists(c.path):
                raise _exists_error(c.path)
        fault("begin")
        try:
            saved = {c.path: _read(c.path) for c in changes}
        except OSError as exc:
            raise _cannot(exc, changes[0].path, "read") from None
        for c in changes:  # the user's own folder first: its error is the one that helps
            if not os.access(c.path.parent, os.W_OK):
                raise _cannot(PermissionError(13, "Permission denied", str(c.path)), c.path,
                              "write")
        if self.journal is not None:
            _write_journal(self.journal, self.label, changes, saved)
        try:
            for c in changes:  # every new text is in place before anything is removed
                if c.data is None:
                    continue
                fault("write")
                if c.git_index:
                    _write_git_index(c.path, c.data)
                elif c.new_file:
                    write_new_file(c.path, c.data)
                else:
                    write_file(c.path, c.data)
            for c in changes:
                if c.data is None:
                    fault("remove")
                    c.path.unlink(missing_ok=True)
                    fault("removed")
            fault("commit")
        except BaseException as exc:
            _put_back(saved, {c.path: _digest(c.data) for c in changes},
                      math.inf)  # its own git lock is already gone
            self._drop_journal()
            if isinstance(exc, OSError):
                raise _cannot(exc, changes[0].path, "write") from None
            raise
        if self.journal is not None:
            fault("close")
        self._drop_journal()

    def _drop_journal(self) -> None:
        if self.journal is not None:
            _drop_journal(self.journal)


def _drop_journal(journal: Path) -> None:
    """The batch is over: its journal goes (the commit point after a crash)."""
    with contextlib.suppress(FileNotFoundError):
        journal.unlink()
    _sync_dir(journal.parent)


def _put_back(saved: dict[Path, bytes | None], new: dict[Path, str | None],
              since: float) -> None:
    """Every file as it was: the one way back, after a failure and after a crash. Only what
    the batch wrote is undone (a file someone else put there meanwhile stays), and a git
    lock file newer than `since` (the batch's start) is the batch's own."""
    for path, data in saved.items():
        with contextlib.suppress(OSError):
            now = _read(path)
            if now == data or (now is not None and _digest(now) != new[path]):
                continue
            if data is None:
                path.unlink()
            else:
                write_file(path, data)
    for path in saved:
        _remove_leftovers(path, since)


def _remove_leftovers(path: Path, since: float) -> None:
    """The temporary files a killed write leaves beside `path`."""
    with contextlib.suppress(OSError):
        for stray in path.parent.glob(f".{path.name}.*.tmp"):
            stray.unlink(missing_ok=True)
    lock = path.with_name(path.name + ".lock")
    with contextlib.suppress(OSError):
        if lock.stat().st_mtime >= since:
            lock.unlink()


# -- the journal ------------------------------------------------------------------------------

JOURNAL_VERSION = 1


def _write_journal(journal: Path, label: str, changes: Sequence[Change],
                   saved: dict[Path, bytes | None]) -> None:
    entries = []
    for c in changes:
        old = saved[c.path]
        entries.append({
            "path": str(c.path),
            "old": None if old is None else base64.b64encode(old).decode("ascii"),
            "new": _digest(c.data),
        })
    text = json.dumps({"version": JOURNAL_VERSION, "command": label, "files": entries})
    try:
        journal.parent.mkdir(parents=True, exist_ok=True)
        write_file(journal, text)
    except OSError as exc:
        raise GitmigError(f"cannot write gitmig's journal {journal}: {exc.strerror}; "
                          "nothing was changed") from None
    fault("journal")


@dataclass(frozen=True)
class Recovered:
    command: str
    completed: bool  # True: it had finished writing; False: it was rolled back
    files: int


def recover(journal: Path) -> Recovered | None:
    """Finish what an interrupted batch left: None when there is no journal. The caller
    holds the project lock, so the journal's writer is gone."""
    try:
        record = json.loads(journal.read_bytes())
        if record["version"] != JOURNAL_VERSION:
            raise GitmigError(f"gitmig's journal {journal} was written by another version "
                              "of gitmig; finish with that version, or check the files it "
                              "names, then remove it")
        command = str(record["command"])
        files = [(Path(e["path"]), e["old"], e["new"]) for e in record["files"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        raise GitmigError(
            f"gitmig's journal {journal} of an interrupted command cannot be read; "
            "check the files it names, then remove it"
        ) from None
    saved = {path: None if old is None else base64.b64decode(old) for path, old, _ in files}
    now = {path: _read(path) for path in saved}
    since = journal.stat().st_mtime
    if all(_digest(now[path]) == new for path, _, new in files):
        for path in saved:
            _remove_leftovers(path, since)
        _drop_journal(journal)
        return Recovered(command, True, len(files))
    for path, _, new in files:
        current = _digest(now[path])
        if current not in (_digest(saved[path]), new):
            raise GitmigError(
                f"an interrupted `{command}` left {path} changed since; gitmig will not "
                f"overwrite it. What each file held before that command is recorded in "
                f"{journal}; once the files are as you want them, remove that journal"
            )
    _put_back(saved, {path: new for path, _, new in files}, since)
    _drop_journal(journal)
    return Recovered(command, False, len(files))
