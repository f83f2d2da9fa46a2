"""What the models' import reads besides modules: environment variables, files, folders,
and the modules it looked for in vain.

A remembered models' state (gitmig.cache) and the lock file's record of the models in sync
(gitmig.migrations.syncrecord) are keyed by what the import read. Modules are found in
sys.modules afterwards; the rest leaves no such trace, so it is watched while the import
runs:
- a variable read through os.environ, os.environb, os.getenv (a read of the whole
  environment, iterating or copying it, is noted as such: nothing can then be keyed by it);
- a file opened for reading, however (open, pathlib, io.FileIO, os.open, pkgutil.get_data):
  Python's audit hook "open" sees them all, the import system's own reads included;
- a folder the project's code lists (os.listdir, os.scandir: glob, pathlib, os.walk), and
  a path it asks about (os.stat, os.lstat: os.path.exists, Path.is_file): a file added
  may change the models though no file read changed;
- a top-level module no finder found (an optional dependency, `try: import x`): installing
  it later changes what the import does;
- a path relative to the current folder, or the current folder asked for (os.getcwd,
  Path.cwd): the models then depend on where gitmig runs;
- a process started, a socket or a SQLite database opened (tables reflected from a
  database), the machine's name asked (socket.gethostname, os.uname, platform.node): what
  these answer, no file can key.
Output (a print, a warning shown) is noted by noting_output(): what the models say, a run
that does not import them cannot say.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ALL = "*"  # the whole environment was read
_WRITING = os.O_WRONLY | os.O_RDWR


@dataclass
class Reads:
    environ: set[str] = field(default_factory=set)  # names, or ALL
    files: set[str] = field(default_factory=set)  # absolute paths opened for reading
    folders: set[str] = field(default_factory=set)  # absolute paths of folders listed
    probes: set[str] = field(default_factory=set)  # absolute paths asked about (stat)
    missing: set[str] = field(default_factory=set)  # top-level modules not found
    relative: bool = False  # a path relative to the current folder was used
    talked: str = ""  # the first audit event that reached outside (a process, a socket...)


class _Watched(os._Environ):
    """os.environ (or os.environb), noting the names asked for."""

    def __init__(self, real: Any, reads: Reads) -> None:
        super().__init__(real._data, real.encodekey, real.decodekey, real.encodevalue,
                         real.decodevalue)
        self._reads = reads

    def _note(self, key: object) -> None:
        self._reads.environ.add(os.fsdecode(key) if isinstance(key, bytes) else str(key))

    def __getitem__(self, key: Any) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return bool(super().__contains__(key))

    def __iter__(self) -> Iterator[Any]:
        self._reads.environ.add(ALL)
        return iter(super().__iter__())

    def __len__(self) -> int:
        self._reads.environ.add(ALL)
        return int(super().__len__())


class _Missing:
    """The last finder on sys.meta_path: asked only about a module no other finder found."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if path is None:
            self._reads.missing.add(name.partition(".")[0])


_ACTIVE: list[Reads] = []
_HOOKED: list[bool] = []
# Audit events of a reach outside the files: a process, a socket, a database.
_TALKING = frozenset({"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn",
                      "os.spawn", "socket.connect", "sqlite3.connect",
                      "socket.gethostname"})


def _audit(event: str, args: tuple[Any, ...]) -> None:
    """Python's audit hook (added once, for the process's life; idle outside a watch)."""
    if not _ACTIVE or (event != "open" and event not in _TALKING):
        return
    try:
        reads = _ACTIVE[-1]
        if event == "open":
            path, _, flags = args
            if isinstance(path, (str, bytes)) and not (flags or 0) & _WRITING:
                _note_path(reads, os.fsdecode(path), reads.files)
        elif not (event == "sqlite3.connect" and args and args[0] in (":memory:", "")):
            reads.talked = reads.talked or event
    except Exception:  # noqa: S110 (an audit hook must never fail the call it watches)
        pass


def _note_path(reads: Reads, path: str, into: set[str]) -> None:
    if not os.path.isabs(path):
        reads.relative = True
    into.add(os.path.abspath(path))


def _above(path: str, roots: tuple[str, ...]) -> bool:
    """Whether `path` is a project folder or one it lies in: Path.resolve() asks about each
    (os.lstat), and they are there wherever the project is."""
    if not os.path.isabs(path):
        return False
    folder = os.path.join(os.path.normpath(path), "")
    return any(root.startswith(folder) for root in roots)


def _by_project(roots: tuple[str, ...]) -> bool:
    """Whether the project's code asked (not a library's import-time code, nor the import
    system): the nearest module-level frame, or any frame before it, is the project's."""
    frame = sys._getframe(2)
    while frame is not None:
        file = frame.f_code.co_filename
        if file.startswith(roots) and "site-packages" not in file:
            return True
        if frame.f_code.co_name == "<module>" or file.startswith("<frozen importlib"):
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


@contextmanager
def watching(roots: Sequence[str] = ()) -> Iterator[Reads]:
    """Watch what runs inside; `roots`: the project's folders (each ending with "/"),
    whose code's listings and probes are noted."""
    reads = Reads()
    ours = tuple(roots)

    def noting(call: Any, into: set[str]) -> Any:
        def watched(path: Any = ".", *args: Any, **kwargs: Any) -> Any:
            try:
                if isinstance(path, (str, bytes, os.PathLike)) and _by_project(ours):
                    name = os.fsdecode(path)
                    if into is not reads.probes or not _above(name, ours):
                        _note_path(reads, name, into)
            except Exception:  # the folder gone, say: the call itself must still answer
                reads.relative = True
            return call(path, *args, **kwargs)
        return watched

    def asking(call: Any, note: Any) -> Any:
        def watched(*args: Any, **kwargs: Any) -> Any:
            try:
                if _by_project(ours):
                    note()
            except Exception:
                reads.relative = True
            return call(*args, **kwargs)
        return watched

    def where() -> None:
        reads.relative = True

    def machine() -> None:
        reads.talked = reads.talked or "os.uname"

    # (module, name) -> what stands in for it while the import runs.
    watch: dict[tuple[Any, str], Any] = {
        (os, "environ"): lambda real: _Watched(real, reads),
        (os, "environb"): lambda real: _Watched(real, reads),
        (os, "listdir"): lambda real: noting(real, reads.folders),
        (os, "scandir"): lambda real: noting(real, reads.folders),
        (os, "stat"): lambda real: noting(real, reads.probes),
        (os, "lstat"): lambda real: noting(real, reads.probes),
        (os, "getcwd"): lambda real: asking(real, where),
        (os, "getcwdb"): lambda real: asking(real, where),
        (os, "uname"): lambda real: asking(real, machine),
    }
    platform = sys.modules.get("platform")  # its uname() may be remembered from before
    if platform is not None:
        watch[platform, "uname"] = watch[platform, "node"] = lambda real: asking(real, machine)
    saved = {target: getattr(*target) for target in watch}
    if not _HOOKED:
        sys.addaudithook(_audit)
        _HOOKED.append(True)
    missing = _Missing(reads)
    for (module, name), stand_in in watch.items():
        setattr(module, name, stand_in(saved[module, name]))
    sys.meta_path.append(missing)
    _ACTIVE.append(reads)
    try:
        yield reads
    finally:
        _ACTIVE.remove(reads)
        if missing in sys.meta_path:
            sys.meta_path.remove(missing)
        for (module, name), real in saved.items():
            setattr(module, name, real)


@dataclass
class Heard:
    said: bool = False


class _Listening:
    """A stream that notes being written to."""

    def __init__(self, stream: Any, heard: Heard) -> None:
        self._stream = stream
        self._heard = heard

    def write(self, text: str) -> int:
        if text:
            self._heard.said = True
        return int(self._stream.write(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def noting_output() -> Iterator[Heard]:
    """Whether anything was printed or a warning shown (to sys.stdout or sys.stderr)."""
    heard = Heard()
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Listening(out, heard), _Listening(err, heard)
    try:
        yield heard
    finally:
        sys.stdout, sys.stderr = out, err
