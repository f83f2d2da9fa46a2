"""Remembered work, keyed by content: parsed migration files, replayed states, model states.

A core module, so that gitmig.schema.models (the models' state) and gitmig.migrations
(statecache, loader, replay) can both use it.

Replaying a thousand migrations or importing the models costs far more than hashing the
files they come from, so each result is stored under a digest of exactly what it was
computed from (file contents, gitmig's and SQLAlchemy's code) and reused only when that
digest matches. A stale entry can never be used; a missing or unreadable cache only costs
time. This module stays free of SQLAlchemy so that a cache hit never imports it.

The cache lives in $GITMIG_CACHE_DIR, else $XDG_CACHE_HOME/gitmig, else ~/.cache/gitmig,
one small file per project and kind; `GITMIG_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import pickle
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

FORMAT = 1
# The database URL that overrides the configured one: gitmig.config.DATABASE_ENV, defined
# here because gitmig.config reads pyproject.toml through this module.
DATABASE_ENV = "GITMIG_DATABASE_URL"


def enabled() -> bool:
    return os.environ.get("GITMIG_NO_CACHE", "") in ("", "0")


def cache_dir() -> Path:
    explicit = os.environ.get("GITMIG_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gitmig"


def _sources(folder: str, rel: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(parts of the path below the package, path) of each `*.py` under `folder`, as
    Path.rglob finds them (symbolic links to folders not followed), without a Path object
    each: every command pays for this."""
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".py"):
                found.append(((*rel, entry.name), entry.path))
            if entry.is_dir() and not entry.is_symlink():
                found += _sources(entry.path, (*rel, entry.name))
    return found


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@functools.cache
def code_fingerprint() -> str:
    """Changes whenever gitmig's or SQLAlchemy's code, or Python, does: each shapes a
    state (the pre-commit hook may run another interpreter than the one that filled the
    cache)."""
    parts = [str(FORMAT)]
    for rel, path in sorted(_sources(os.path.dirname(os.path.realpath(__file__)), ())):
        st = os.stat(path)
        parts.append(f"{'/'.join(rel)}:{st.st_mtime_ns}:{st.st_size}")
    spec = importlib.util.find_spec("sqlalchemy")
    if spec is not None and spec.origin:
        st = os.stat(spec.origin)
        parts.append(f"{spec.origin}:{st.st_mtime_ns}:{st.st_size}")
    parts.append(sys.version)
    return digest("\n".join(parts).encode())


def _path(kind: str, scope: str) -> Path:
    return cache_dir() / f"{kind}-{digest(scope.encode())[:20]}.pickle"


def load(kind: str, scope: str) -> Any:
    """The entry stored for (kind, scope), or None."""
    if not enabled():
        return None
    try:
        with _path(kind, scope).open("rb") as f:
            entry = pickle.load(f)
    except Exception:  # missing, truncated or from another version: recompute
        return None
    if not isinstance(entry, dict) or entry.get("code") != code_fingerprint():
        return None
    return entry.get("value")


def store(kind: str, scope: str, value: Any) -> None:
    """Best effort: a cache that cannot be written is only slower, never wrong."""
    if not enabled():
        return
    from gitmig.atomic import write_file  # here, not at the top: a cache hit never needs it

    path = _path(kind, scope)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = pickle.dumps({"code": code_fingerprint(), "value": value},
                            protocol=pickle.HIGHEST_PROTOCOL)
        write_file(path, data, durable=False)
    except OSError:
        pass


def files_digest(paths: Iterable[str]) -> str | None:
    """One digest over the contents of files, and of the names in folders (a path ending
    with "/": a file added there may change what listed it); None if one cannot be read."""
    h = hashlib.sha256()
    for path in paths:
        try:
            if path.endswith("/"):
                data = "\0".join(folder_names(path)).encode(errors="surrogateescape")
            else:
                data = Path(path).read_bytes()
        except OSError:
            return None
        h.update(path.encode() + b"\0" + digest(data).encode() + b"\n")
    return h.hexdigest()


def folder_names(path: str) -> list[str]:
    """The names in a folder, as code listing it may see them (bytecode caches aside)."""
    return sorted(n for n in os.listdir(path) if n != "__pycache__")


def _models_scope(config_path: Path) -> str:
    """The models' state depends on the database too (the longest name it takes): the
    configured one is in pyproject.toml, digested with the models; an override is not."""
    return f"{config_path}\0{os.environ.get(DATABASE_ENV, '')}"


def models_entry(config_path: Path) -> dict[str, Any] | None:
    """The last import's record: {"closure": the project files it read (absolute paths),
    "digest": files_digest of pyproject.toml and those, "packages": the stamps of the
    installed modules it imported, "state": the models' state}, not
    checked against the files (models_state() does; the pre-commit hook checks it against
    the index)."""
    entry = load("models", _models_scope(config_path))
    if not (isinstance(entry, dict) and isinstance(entry.get("closure"), list)
            and isinstance(entry.get("digest"), str)
            and isinstance(entry.get("packages"), list)):
        return None
    return entry


def models_state(config_path: Path) -> Any:
    """The models' state from the last import, if no file it was read from has changed."""
    entry = models_entry(config_path)
    if entry is None:
        return None
    if files_digest([str(config_path), *entry["closure"]]) != entry["digest"]:
        return None
    if package_stamps([p for p, _, _ in entry["packages"]]) != entry["packages"]:
        return None  # a package the models import was upgraded, or is gone
    if not environ_unchanged(entry):
        return None
    if entry.get("cwd") not in (None, os.getcwd()):
        return None  # the models opened a path relative to another folder
    if not still_missing(entry.get("missing", [])):
        return None  # a module the import looked for in vain is there now
    probed = entry.get("probed", {})
    if not isinstance(probed, dict) or path_kinds(list(probed)) != probed:
        return None  # a path the models asked about appeared, or went
    return entry["state"]


def path_kinds(paths: Sequence[str]) -> dict[str, str]:
    """path -> what is there: "file", "folder", "other" or "absent" (as os.path.exists
    and its kin see it, through symbolic links)."""
    kinds = {}
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except (OSError, ValueError):
            kinds[path] = "absent"
            continue
        kinds[path] = "file" if stat.S_ISREG(mode) else "folder" if stat.S_ISDIR(mode) \
            else "other"
    return kinds


def still_missing(names: Iterable[str]) -> bool:
    """No finder finds any of these top-level modules (an optional dependency installed
    since, or a module put on the path, would change what the import does)."""
    for name in names:
        try:
            if not isinstance(name, str) or importlib.util.find_spec(name) is not None:
                return False
        except (ImportError, ValueError):
            return False
    return True


def environ_unchanged(entry: dict[str, Any]) -> bool:
    """The variables the models read hold what they held then."""
    environ = entry.get("environ")
    return isinstance(environ, dict) and environ_digests(list(environ)) == environ


def package_stamps(paths: Sequence[str]) -> list[tuple[str, int, int]] | None:
    """(path, mtime, size) of installed modules' files: an upgrade changes them, and
    stat-ing them costs far less than hashing. None if one is gone."""
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            return None
        stamps.append((path, st.st_mtime_ns, st.st_size))
    return stamps


def environ_digests(names: Sequence[str]) -> dict[str, str]:
    """name -> a digest of its value (or of its absence), never the value: a secret read
    by the models stays out of the cache."""
    return {name: digest((("=" + os.environ[name]) if name in os.environ else "unset")
                         .encode(errors="surrogateescape"))
            for name in names if name != "*"}


def remember_models_state(config_path: Path, closure: Sequence[str], state: Any,
                          packages: Sequence[str] = (), imported: Sequence[str] = (),
                          environ: Sequence[str] = (), missing: Sequence[str] = (),
                          probed: Sequence[str] = (), relative: bool = False,
                          quiet: bool = True, talked: str = "") -> None:
    """`closure`: every project file the import of the models read (and folder it listed,
    ending with "/"); `packages`: the other modules' files then imported (installed
    packages, PYTHONPATH), whose types shape the state as much; `imported`: the top-level
    modules outside the project and the standard library that the import itself loaded
    (gitmig.migrations.syncrecord); `environ`: the variables it read ("*": all of them;
    gitmig.schema.importwatch); `missing`: the top-level modules it looked for in vain;
    `probed`: the paths it asked about (os.path.exists...); `relative`: whether it used a
    path relative to the current folder; `quiet`: whether it printed nothing; `talked`:
    the audit event of a process, socket or database it reached (importwatch)."""
    files = sorted(set(closure))
    found = files_digest([str(config_path), *files])
    stamps = package_stamps(sorted(set(packages)))
    if found is not None and stamps is not None:
        store("models", _models_scope(config_path),
              {"closure": files, "digest": found, "packages": stamps, "state": state,
               "imported": sorted(set(imported)), "environ": environ_digests(environ),
               "whole_environ": "*" in environ, "missing": sorted(set(missing)),
               "probed": path_kinds(sorted(set(probed))),
               "cwd": os.getcwd() if relative else None, "quiet": quiet,
               "talked": talked})
