"""What the models' import reads besides modules: environment variables and files.

A remembered models' state (gitmig.cache) and the lock file's record of the models in sync
(gitmig.migrations.syncrecord) are keyed by what the import read. Modules are found in
sys.modules afterwards; a variable read with os.environ / os.getenv, or a file opened with
open() (a JSON list of an Enum's values, say), leaves no such trace, so both are watched
while the import runs. A read of the whole environment (iterating it, copying it) is noted
as such: nothing can then be keyed by it.
"""

from __future__ import annotations

import builtins
import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

ALL = "*"  # the whole environment was read


@dataclass
class Reads:
    environ: set[str] = field(default_factory=set)  # names, or ALL
    files: set[str] = field(default_factory=set)  # absolute paths opened for reading


class _Watched(os._Environ):
    """os.environ, noting the names asked for."""

    def __init__(self, real: Any, reads: Reads) -> None:
        super().__init__(real._data, real.encodekey, real.decodekey, real.encodevalue,
                         real.decodevalue)
        self._reads = reads

    def __getitem__(self, key: str) -> str:
        self._reads.environ.add(str(key))
        return str(super().__getitem__(key))

    def __contains__(self, key: object) -> bool:
        self._reads.environ.add(str(key))
        return bool(super().__contains__(key))

    def __iter__(self) -> Iterator[str]:
        self._reads.environ.add(ALL)
        return iter(super().__iter__())

    def __len__(self) -> int:
        self._reads.environ.add(ALL)
        return int(super().__len__())


@contextmanager
def watching() -> Iterator[Reads]:
    reads = Reads()
    real_environ, real_open = os.environ, builtins.open

    def open_watched(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, bytes, os.PathLike)) and not any(c in mode for c in "wax+"):
            reads.files.add(os.path.abspath(os.fsdecode(file)))
        return real_open(file, mode, *args, **kwargs)

    os.environ = _Watched(real_environ, reads)  # noqa: B003 (rebound, not cleared)
    builtins.open = io.open = open_watched
    try:
        yield reads
    finally:
        os.environ = real_environ  # noqa: B003
        builtins.open = io.open = real_open
