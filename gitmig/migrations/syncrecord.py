"""The models found in sync with the migrations, recorded in the lock file for a fresh clone.

`makemigrations --check` in CI runs on a fresh clone, with no state cache: importing
SQLAlchemy and the models alone costs more than the whole answer should. When a plain
`gitmig makemigrations` ends with every app in sync, it writes three comment lines into a
lock file (older readers skip comments): a key, the project files the models' import read,
and the installed distributions the process had imported. The key is a digest of
everything the comparison depended on: pyproject.toml, each file read and its bytes, the
names in every folder the import searched (a new module could shadow one), each migration
file's bytes, each app's lock, the distributions' names and versions, Python's and gitmig's
versions, and GITMIG_DATABASE_URL. A later check recomputes the key from the files as they
are now; only an exact match answers "no changes", so any edit, upgrade or new file means
the full comparison, as before. Distributions are trusted by version: a package installed
in editable mode, or a module found outside a distribution, is not recorded at all.

Besides files, the key covers what else the import was seen to depend on
(gitmig.schema.importwatch): the names in each folder the project's code listed or probed
(a read entry ending with "/"), the modules it looked for in vain (an "imported" entry with
no distribution: still absent), and Python's warning options. Models that print or warn,
or read a path relative to the current folder, get no record; nor do migrations that import
a module the record does not key (replaying them runs it). A record is only ever read:
its paths stay inside the project (symbolic links are followed only there), each file is
hashed once, and a malformed one is a mismatch, never an error.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from gitmig import __version__, regular
from gitmig.config import DATABASE_ENV, Config

FORMAT = 2
_KEY = "# models in sync, key: "
_READS = "# models read: "
_PACKAGES = "# models imported: "
_ENVIRON = "# models environment: "
_PROBED = "# models probed: "
_SHADOWING = (".py", ".pyc", ".so", ".pyd")


@dataclass(frozen=True)
class Record:
    key: str
    reads: tuple[str, ...]  # project files, relative to pyproject.toml's folder, "/"-separated
    packages: tuple[tuple[str, str], ...]  # (top-level module, "name-version" of its dist-info
    environ: tuple[str, ...]  # the variables the import read (their values are not kept)
    probed: tuple[str, ...] = ()  # project paths it asked about (what is there is keyed)


def parse(data: bytes) -> Record | None:
    """The record a lock file's bytes hold, or None."""
    fields: dict[str, str] = {}
    try:
        for line in data.decode("utf-8").splitlines():
            for prefix in (_KEY, _READS, _PACKAGES, _ENVIRON, _PROBED):
                if line.startswith(prefix):
                    fields[prefix] = line[len(prefix):]
        reads = json.loads(fields[_READS])
        packages = json.loads(fields[_PACKAGES])
        environ = json.loads(fields[_ENVIRON])
        probed = json.loads(fields[_PROBED])
        key = fields[_KEY].split()[0]
    except (UnicodeDecodeError, KeyError, IndexError, ValueError, RecursionError):
        return None
    if not (isinstance(reads, list) and all(isinstance(r, str) for r in reads)
            and isinstance(packages, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in packages.items())
            and isinstance(environ, list) and all(isinstance(e, str) for e in environ)
            and isinstance(probed, list) and all(isinstance(p, str) for p in probed)):
        return None
    return Record(key, tuple(reads), tuple(sorted(packages.items())), tuple(environ),
                  tuple(probed))


def lines(record: Record) -> str:
    return (f"{_KEY}{record.key} (written by makemigrations: a fresh clone's "
            "`makemigrations --check` trusts it while nothing below, nor any migration, changed)\n"
            f"{_READS}{json.dumps(list(record.reads))}\n"
            f"{_PACKAGES}{json.dumps(dict(record.packages), sort_keys=True)}\n"
            f"{_ENVIRON}{json.dumps(list(record.environ))}\n"
            f"{_PROBED}{json.dumps(list(record.probed))}\n")


def strip(text: str) -> str:
    """A lock file's text without its record."""
    return "".join(line for line in text.splitlines(keepends=True)
                   if not line.startswith((_KEY, _READS, _PACKAGES, _ENVIRON, _PROBED)))


def in_sync(config: Config) -> bool:
    """True when a lock file's record matches the project exactly as it is now."""
    from gitmig import cache

    if not config.lockfile or not config.apps or not cache.enabled():
        return False
    locks = []
    for app in config.apps.values():
        try:
            locks.append(regular.read_bytes(app.migrations / "gitmig.lock"))
        except OSError:
            return False  # an app without a lock: the full comparison writes it
    tried: set[Record] = set()
    for data in locks:
        record = parse(data)
        if record is None or record in tried:
            continue
        tried.add(record)
        if key(config, locks, record.reads, record.packages, record.environ,
               record.probed) == record.key:
            return True
    return False


def key(config: Config, locks: Sequence[bytes], reads: Iterable[str],
        packages: Iterable[tuple[str, str]], environ: Iterable[str],
        probed: Iterable[str] = ()) -> str | None:
    """The digest of everything a comparison of the models with the migrations read; None
    when one of its inputs is gone or cannot be read, or the record names what no
    makemigrations writes (a NUL, a lone surrogate, a path out of the project)."""
    try:
        return _key(config, locks, reads, packages, environ, probed)
    except (OSError, ValueError):
        return None


def _key(config: Config, locks: Sequence[bytes], reads: Iterable[str],
         packages: Iterable[tuple[str, str]], environ: Iterable[str],
         probed: Iterable[str]) -> str | None:
    from gitmig.cache import environ_digests, folder_names, path_kinds, still_missing
    from gitmig.migrations import lockfile

    root = config.root
    h = hashlib.sha256()

    def add(*parts: str) -> None:  # JSON: unambiguous, and any file name is ASCII in it
        h.update(json.dumps(parts).encode() + b"\n")

    add("format", str(FORMAT), __version__, sys.implementation.name,
        ".".join(map(str, sys.version_info[:3])), os.environ.get(DATABASE_ENV, ""),
        str(sys.flags.dev_mode), *sys.warnoptions)  # -W error makes a warning an error
    for name, value in sorted(environ_digests(sorted(set(environ))).items()):
        add("environ", name, value)
    add("pyproject", _file_digest(str(config.path)))
    for app, data in zip(config.apps.values(), locks, strict=True):
        lock = lockfile.parse(data)
        if lock is None:
            return None
        add("app", app.label, lock.leaf, lock.chain)
        folder = str(app.migrations)
        for name in sorted(os.listdir(folder)):
            if name.endswith(".py"):
                add("migration", name, _file_digest(os.path.join(folder, name)))
    for rel in sorted(set(probed)):
        add("probe", rel, *path_kinds([_inside(root, rel)]).values())
    folders = {str(root), *(str(p) for p in config.pythonpath)}
    for rel in sorted(set(reads)):
        path = _inside(root, rel)
        if rel.endswith("/"):
            add("listing", rel, *folder_names(path))
            continue
        add("read", rel, _file_digest(path))
        folder = os.path.dirname(path)
        while folder.startswith(str(root)) and folder not in folders:
            folders.add(folder)
            folder = os.path.dirname(folder)
    for folder in sorted(folders):
        add("folder", os.path.relpath(folder, root), *_importable_names(folder))
    for top, dist in sorted(packages):
        if not top.isidentifier():
            return None
        if dist == "" and not still_missing([top]):
            return None  # looked for in vain then, found now
        if dist != "" and _installed(top, dist) != dist:
            return None
        add("package", top, dist)
    return h.hexdigest()


def _inside(root: Path, rel: str) -> str:
    """The path of a record's entry, which must lead into the project (through no
    symbolic link out of it): a record is not a way to read anything else."""
    if rel.startswith("/") or ".." in rel.split("/"):
        raise ValueError(f"not a path in the project: {rel!r}")
    path = os.path.join(root, rel)
    real, inside = os.path.realpath(root), os.path.realpath(path)
    if inside != real and not inside.startswith(os.path.join(real, "")):
        raise ValueError(f"out of the project: {rel!r}")
    return path


def _file_digest(path: str) -> str:
    """The SHA-256 of a regular file: a record naming a FIFO or a device (through a
    symbolic link in a crafted repository) must not block or exhaust the check."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(f"not a regular file: {path}")
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()  # in chunks: a big file fits


def _importable_names(folder: str) -> list[str]:
    """The names in a folder that an import could take for a module or package."""
    return sorted(n for n in os.listdir(folder)
                  if n != "__pycache__" and ("." not in n or n.endswith(_SHADOWING)))


_LISTINGS: dict[str, list[str]] = {}


def _listing(folder: str) -> list[str]:
    if folder not in _LISTINGS:
        try:
            _LISTINGS[folder] = os.listdir(folder)
        except OSError:
            _LISTINGS[folder] = []
    return _LISTINGS[folder]


def _installed(top: str, recorded: str | None = None) -> str | None:
    """"name-version" of the distribution holding `top` in the first sys.path entry that
    has it, or None (not found; found outside any distribution's folder; claimed by
    several). Given the recorded one, only that one is looked at: a check reads one RECORD
    file per module, not every installed distribution's."""
    for entry in sys.path:
        if not entry or not os.path.isabs(entry):
            continue
        names = _listing(entry)
        if not any(n == top or n == f"{top}.py" or (n.startswith(f"{top}.")
                                                    and n.endswith((".so", ".pyd")))
                   for n in names):
            continue
        infos = [d for d in map(_dist_name, names) if d is not None]
        if recorded is not None:
            name = recorded.partition("-")[0]
            if any(d[0] != recorded and d[0].partition("-")[0] == name for d in infos):
                return None  # another version beside it: which one's files are these?
            infos = [d for d in infos if d[0] == recorded]
        owners = [d for d in infos if _owns(entry, d, top)]
        return owners[0][0] if len(owners) == 1 else None
    return None


def _dist_name(folder_name: str) -> tuple[str, str] | None:
    """("name-version" normalized, the folder's own name) of a dist-info folder."""
    if not folder_name.endswith(".dist-info"):
        return None
    stem = folder_name[: -len(".dist-info")]
    name, sep, version = stem.partition("-")
    if not sep or not name or not version:
        return None
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}", folder_name


def _owns(entry: str, dist: tuple[str, str], top: str) -> bool:
    """The dist-info's RECORD lists a file of `top`, and no .pth (an editable install)."""
    try:
        with open(os.path.join(entry, dist[1], "RECORD"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return False
    return any(line.startswith((f"{top}/", f"{top}.")) for line in text.splitlines())


def make(config: Config) -> Record | None:
    """The record for the project as it is now, from the state cache's models entry (the
    files the last import read, the modules it had imported); None when one of them cannot
    be recorded so that another machine can check it."""
    from gitmig import cache

    entry = cache.models_entry(config.path)
    if entry is None or cache.models_state(config.path) is None:
        return None  # no import of these very files to vouch for
    if entry.get("cwd") is not None or entry.get("quiet") is not True \
            or entry.get("talked") != "":
        return None  # a path relative to where gitmig ran; output only the import gives; a
        # process, socket or database asked (reflected tables): nothing a file keys
    root = str(config.root).rstrip("/") + "/"
    reads: list[str] = []
    probed: list[str] = []
    for paths, into in ((entry["closure"], reads), (entry.get("probed"), probed)):
        if not isinstance(paths, (list, dict)):
            return None
        for path in paths:
            if not isinstance(path, str) or not path.startswith(root):
                return None  # outside the project: another machine has other files there
            into.append(path[len(root):].replace(os.sep, "/") or "./")
    imported, environ = entry.get("imported"), entry.get("environ")
    missing = entry.get("missing")
    if not isinstance(imported, list) or not isinstance(environ, dict) \
            or not isinstance(missing, list) or entry.get("whole_environ") is not False:
        return None  # an entry from before these were kept, or the whole environment read
    tops = {"sqlalchemy", *imported}
    if "typing_extensions" in sys.modules:  # SQLAlchemy's own dependency
        tops.add("typing_extensions")
    if tops & set(missing):
        return None
    packages = []
    for top in sorted(tops):
        dist = _installed(top)
        if dist is None:
            return None
        packages.append((top, dist))
    packages += [(name, "") for name in sorted(missing)]
    if not _migrations_import_keyed(config, set(reads), tops):
        return None
    locks = []
    for app in config.apps.values():
        try:
            locks.append(regular.read_bytes(app.migrations / "gitmig.lock"))
        except OSError:
            return None
    names = tuple(sorted(environ))
    found = key(config, locks, reads, packages, names, probed)
    return Record(found, tuple(sorted(reads)), tuple(packages), names,
                  tuple(sorted(probed))) if found else None


# The imports makemigrations writes into a migration: nothing for the record to key.
_PLAIN_IMPORT = re.compile(rb"(?:import sqlalchemy as sa|from gitmig import ops|"
                           rb"from sqlalchemy\.dialects import \w+|"
                           rb"from __future__ import annotations)")
_IMPORT_LINE = re.compile(rb"^[ \t]*(?:import|from)[ \t].*?[ \t]*\r?$", re.M)
# What can reach files, variables or other modules without an import statement.
_REACHING = frozenset({"open", "exec", "eval", "compile", "__import__", "import_module",
                       "input", "breakpoint", "__builtins__", "globals", "locals", "vars",
                       "getattr", "setattr", "environ", "environb", "getenv", "getenvb"})
_REACHING_WORD = re.compile(rb"\b(?:" + b"|".join(n.encode() for n in _REACHING) + rb")\b")
# The standard library a hand-written migration may import: none reads the outside world.
_INERT = frozenset({"__future__", "collections", "copy", "dataclasses", "datetime",
                    "decimal", "enum", "fractions", "functools", "itertools", "json", "math",
                    "operator", "re", "string", "textwrap", "typing", "uuid"})


def _migrations_import_keyed(config: Config, reads: set[str], tops: set[str]) -> bool:
    """Replaying the migrations runs them: what they import is a module the record keys (a
    project module it reads, gitmig, a distribution it records, an inert part of the
    standard library), and nothing in them reads a file or a variable."""
    for app in config.apps.values():
        try:
            names = sorted(n for n in os.listdir(app.migrations) if n.endswith(".py"))
            sources = [(app.migrations / n).read_bytes() for n in names]
        except OSError:
            return False
        for data in sources:
            lines = _IMPORT_LINE.findall(data)
            if all(_PLAIN_IMPORT.fullmatch(line.strip()) for line in lines) \
                    and not _REACHING_WORD.search(data):
                continue  # as makemigrations writes them (the quick way)
            try:
                tree = ast.parse(data)
            except (SyntaxError, ValueError):
                return False
            if not all(_inert(config, node, reads, tops) for node in ast.walk(tree)):
                return False
    return True


def _inert(config: Config, node: ast.AST, reads: set[str], tops: set[str]) -> bool:
    if isinstance(node, ast.Name) and node.id in _REACHING:
        return False
    if isinstance(node, ast.Attribute) and node.attr in _REACHING:
        return False
    if isinstance(node, ast.Import):
        return all(_module_keyed(config, a.name, reads, tops) for a in node.names)
    if isinstance(node, ast.ImportFrom):
        if node.level or not node.module:
            return False
        modules = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        return all(_module_keyed(config, m, reads, tops) for m in modules)
    return True


def _module_keyed(config: Config, module: str, reads: set[str], tops: set[str]) -> bool:
    parts = module.split(".")
    found = False
    for base in (config.root, *config.pythonpath):
        for depth in range(1, len(parts) + 1):
            stem = os.path.join(base, *parts[:depth])
            for candidate in (f"{stem}.py", os.path.join(stem, "__init__.py")):
                if os.path.isfile(candidate):
                    found = True
                    rel = os.path.relpath(candidate, config.root).replace(os.sep, "/")
                    if rel not in reads:
                        return False  # a project module the models do not read
    return found or parts[0] in _INERT or parts[0] in {"gitmig", *tops}


def refresh(config: Config, written: Sequence[str] = ()) -> Path | None:
    """After a makemigrations that left every app in sync: put the record in the lock
    file of an app just written (else the first app's), unless one already matches.
    Returns the lock file written, if one was."""
    from gitmig.atomic import write_file

    if not config.lockfile or in_sync(config):
        return None
    record = make(config)
    if record is None:
        return None
    label = next((a for a in config.apps if a in written), next(iter(config.apps)))
    path = config.apps[label].migrations / "gitmig.lock"
    try:
        text = regular.read_text(path)
        write_file(path, strip(text) + lines(record))
    except (OSError, UnicodeDecodeError):
        return None  # best effort: without a record, the next check only costs time
    return path
