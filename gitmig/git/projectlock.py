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
from collections.abc import Iterable, Iterator
from pathlib import Path

from gitmig.errors import GitmigError

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
    removed."""
    from gitmig.atomic import sweep, sweep_scratch

    targets = [root, *folders]
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
        removed += sweep(folder)
    for folder in dict.fromkeys(caches):
        removed += sweep(folder, folders=True)
    removed += sweep_scratch()
    return removed
