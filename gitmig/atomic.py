"""Writing new files so that none is ever half-written or overwritten.

The one place gitmig creates files in a user's tree. A batch either lands whole or
leaves the tree as it was: files created before a failure are removed again. The one
sanctioned rewrite, `makemigrations --amend` of the user's own uncommitted, unapplied
draft, also lives here (rewrite_files): the old file is never lost.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Sequence
from pathlib import Path

from gitmig.errors import GitmigError


def _write_new(path: Path, text: str) -> None:
    folder = path.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a new file should follow umask
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)  # fails if path exists: never overwrite
        except FileExistsError:
            raise GitmigError(f"{path} already exists; gitmig never overwrites a file") from None
        except OSError:
            if path.exists():
                raise GitmigError(
                    f"{path} already exists; gitmig never overwrites a file"
                ) from None
            os.replace(tmp, path)  # no hard links on this filesystem
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_new_files(files: Sequence[tuple[Path, str]]) -> None:
    """Create every file or none of them."""
    created: list[Path] = []
    made_dirs: list[Path] = []
    try:
        for path, text in files:
            if not path.parent.exists():
                missing = [p for p in [path.parent, *path.parent.parents] if not p.exists()]
                path.parent.mkdir(parents=True)
                made_dirs += missing
            _write_new(path, text)
            created.append(path)
    except PermissionError as exc:
        _undo(created, made_dirs)
        raise GitmigError(
            f"cannot write {exc.filename or path}: permission denied; nothing was written"
        ) from None
    except OSError as exc:
        _undo(created, made_dirs)
        raise GitmigError(f"cannot write {path}: {exc.strerror}; nothing was written") from None
    except BaseException:
        _undo(created, made_dirs)
        raise


def _undo(created: list[Path], made_dirs: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in made_dirs:
        with contextlib.suppress(OSError):
            folder.rmdir()


def rewrite_files(changes: Sequence[tuple[Path, Path, str]]) -> None:
    """Replace files by new versions, all or none: each (old, new, text) puts `text` at
    `new` (the same path as `old`, or a new name that must not exist) and removes `old`.

    The new text is written first, beside its target; only then is each old file moved
    aside (a hidden `.NAME.*.gitmig-old` in its folder) and the new one put in place.
    If anything fails, every step is undone and the old files are back as they were.
    """
    staged: list[tuple[Path, Path, Path]] = []  # (old, new, tmp)
    done: list[tuple[Path, Path, Path]] = []  # (old, new, moved-aside old)
    try:
        for old, new, text in changes:
            staged.append((old, new, _staged_copy(new, text)))
        for old, new, tmp in staged:
            if new != old and os.path.lexists(new):
                raise GitmigError(f"{new} already exists; gitmig never overwrites a file")
            aside = old.with_name(f".{old.name}.{secrets.token_hex(4)}.gitmig-old")
            os.rename(old, aside)
            done.append((old, new, aside))
            if new == old:
                os.rename(tmp, new)  # the name is free: the old file was moved aside
            else:
                _link_new(tmp, new)
    except BaseException as exc:
        for old, new, aside in reversed(done):
            with contextlib.suppress(OSError):
                if os.path.lexists(new) and new != old:
                    new.unlink()
                os.replace(aside, old)
        for _, _, tmp in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OSError):
            where = exc.filename or (changes[0][0] if changes else "")
            raise GitmigError(f"cannot rewrite {where}: {exc.strerror}; nothing was "
                              "changed") from None
        raise
    for _, _, aside in done:
        with contextlib.suppress(OSError):
            aside.unlink()
    for _, _, tmp in staged:
        with contextlib.suppress(OSError):
            tmp.unlink()


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)  # fails if path exists: never overwrite
    except FileExistsError:
        raise GitmigError(f"{path} already exists; gitmig never overwrites a file") from None
    except OSError:
        if os.path.lexists(path):
            raise GitmigError(f"{path} already exists; gitmig never overwrites a file") from None
        os.rename(tmp, path)  # no hard links on this filesystem


def _staged_copy(path: Path, text: str) -> Path:
    """`text` in a new hidden file beside `path`, with the mode a new file gets."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return Path(tmp)
