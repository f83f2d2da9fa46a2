"""The project lock (an flock on the git dir), and the intent journal it guards (in it).

Commands that write migrations (makemigrations, its --amend, resolve) hold the lock from
the moment they read the migrations until their files are written, so a second one waits
and then numbers after the first. A multi-file change records its intent in the journal
first (gitmig.atomic.Transaction); a journal found while no command holds the lock was
left by a killed one, and the next gitmig command finishes it before anything else.

Both are found from the project folder without pygit2, so that checking costs one stat.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from gitmig.errors import GitmigError
from gitmig.processes import alive

FOLDER = "gitmig"  # in the git dir, beside the caches
JOURNAL = "journal"

_held: dict[Path, int] = {}  # git dir -> depth: a command may take the lock it holds


def git_dir(start: Path) -> Path | None:
    """The git dir of the work tree holding `start` (a linked worktree's own one)."""
    for folder in [start, *start.parents]:
        dot_git = folder / ".git"
        if dot_git.is_dir():
            return dot_git
        if dot_git.is_file():
            try:
                text = dot_git.read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError):
                return None
            if not text.startswith("gitdir:"):
                return None
            found = Path(text.removeprefix("gitdir:").strip())
            return found if found.is_absolute() else (folder / found).resolve()
    return None


def journal_path(root: Path) -> Path | None:
    """Where a multi-file change of the project at `root` records its intent; None
    outside a repository (such a change is then all or nothing, but not crash-proof)."""
    found = git_dir(root)
    return None if found is None else found / FOLDER / JOURNAL


@contextlib.contextmanager
def project_lock(root: Path) -> Iterator[None]:
    """Hold the project's lock; wait (saying so once) while another command holds it.
    Released by the system when the process dies, however it dies."""
    found = git_dir(root)
    if found is None:
        yield
        return
    path = found  # the git dir itself: locking it creates no file (a refusal changes nothing)
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    import fcntl

    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        yield  # a git dir we cannot open: the command's own reads and writes will say why
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            import sys

            sys.stderr.write("gitmig: waiting for another gitmig command in this project "
                             "to finish\n")
            sys.stderr.flush()
            fcntl.flock(fd, fcntl.LOCK_EX)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
    finally:
        os.close(fd)  # releases the lock


def recover(root: Path) -> str | None:
    """Finish a change that a killed command left half-done (see the module doc); the line
    to tell the user, or None when there was nothing to finish."""
    journal = journal_path(root)
    if journal is None or not journal.exists():
        return None
    from gitmig.atomic import recover as finish

    with project_lock(root):  # a command still running holds it: wait for it
        try:
            done = finish(journal)
        except OSError as exc:
            raise GitmigError(f"cannot finish the interrupted change recorded in {journal}: "
                              f"{exc.strerror}") from None
    if done is None:
        return None
    if done.completed:
        return (f"an interrupted `{done.command}` had written all its files; gitmig "
                "completed it")
    return (f"an interrupted `{done.command}` was rolled back: its files and git's index are "
            "as they were before it; run it again")


def sweep_leftovers(root: Path, folders: Iterable[Path] = (),
                    cache_folders: Iterable[Path] = ()) -> list[Path]:
    """Remove the temporary files and folders that killed gitmig runs left in the project
    at `root`, in `folders` (the apps' migration folders), in `cache_folders` (the state
    cache) and in the git dir (gitmig's caches, the journal's folder, the hooks); only
    gitmig's names, of runs no longer alive (gitmig.atomic.sweep). Returns what was
    removed.

    Every command does this first, so the common case (nothing left) must cost next to
    nothing: each folder is listed here, by names alone, and gitmig.atomic (with json,
    tempfile, shutil) is imported only for a folder holding a name it might remove."""
    targets: list[Path] = [root, *folders]
    caches: list[Path] = list(cache_folders)
    found = git_dir(root)
    if found is not None:
        gits = [found]
        with contextlib.suppress(OSError, UnicodeDecodeError):
            common = found / "commondir"
            if common.is_file():
                gits.append((found / common.read_text().strip()).resolve())
        for g in gits:
            targets += [g, g / FOLDER, g / "hooks"]
            caches += [g / FOLDER / "trees", g / FOLDER / "blobs"]
    removed: list[Path] = []
    for folder in dict.fromkeys(targets):
        if _holds(folder, _may_be_temp_file):
            from gitmig.atomic import sweep

            removed += sweep(folder)
    for folder in dict.fromkeys(caches):
        if _holds(folder, _may_be_cache_temp):
            from gitmig.atomic import sweep

            removed += sweep(folder, folders=True)
    if any(_holds(Path(t), _may_be_scratch, entries=True) for t in _temp_folders()):
        from gitmig.atomic import sweep_scratch

        removed += sweep_scratch()
    return removed


# What gitmig.atomic may sweep, told by names alone: a superset of its patterns (_TEMP_FILE,
# _OLD_TEMP_FILE; in caches also _TEMP_DIR, _OLD_TEMP_DIR; _SCRATCH_DIR, _OLD_SCRATCH_DIR),
# so that a name it would remove always sends the folder to it.
_OLD_WRITTEN = (".pre-commit.", ".post-merge.", ".post-checkout.", ".pyproject.toml.",
                ".precommit-watch.")
_SCRATCH = ("gitmig-resolve-", "gitmig-index-", "gitmig-scratch-")


def _may_be_temp_file(name: str) -> bool:
    return name.startswith(".") and (name.endswith(".tmp") or name.startswith(_OLD_WRITTEN))


def _may_be_cache_temp(name: str) -> bool:
    return _may_be_temp_file(name) or name.startswith(".tmp-")


def _may_be_scratch(entry: os.DirEntry[str]) -> bool:
    """A scratch folder of this user's that no running process names (the system's
    temporary folder is shared: other users' and running commands' folders stay)."""
    name = entry.name
    if not name.startswith(_SCRATCH):
        return False
    parts = name.split("-")
    if len(parts) == 4 and parts[2].isdigit() and alive(int(parts[2])):
        return False  # gitmig.atomic's _SCRATCH_DIR, of a running process: it stays
    try:
        return (entry.is_dir(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_uid == os.getuid())
    except OSError:
        return False
    return True


def _holds(folder: Path, wanted: Callable[[Any], bool], *, entries: bool = False) -> bool:
    """Whether `folder` lists a name `wanted` (or with `entries`, an entry): a folder that
    cannot be listed holds none, as gitmig.atomic.sweep finds nothing there either."""
    try:
        with os.scandir(folder) as found:
            if entries:
                return any(wanted(entry) for entry in found)
            return any(wanted(entry.name) for entry in found)
    except OSError:
        return False


def _temp_folders() -> list[str]:
    """The system's temporary folder as tempfile would choose it, without importing
    tempfile (and json, shutil, random with it): its choice when it is loaded already, else
    every candidate up to the first folder one may write in (tempfile takes the first where
    it can create a file, which cannot come before that one)."""
    import sys

    loaded = sys.modules.get("tempfile")
    if loaded is not None:
        return [loaded.gettempdir()]
    candidates = [os.environ[v] for v in ("TMPDIR", "TEMP", "TMP") if os.environ.get(v)]
    candidates += ["/tmp", "/var/tmp", "/usr/tmp"]
    out = []
    for folder in candidates:
        folder = os.path.abspath(folder)
        out.append(folder)
        if os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK):
            return out
    return [*out, os.getcwd()]
