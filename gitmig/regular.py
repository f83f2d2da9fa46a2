"""Reading a file the user's tree names, without hanging on it.

A lock file, a pyproject.toml or a migration can be replaced, in a crafted repository or by
mistake, by a FIFO (a read waits for a writer forever) or a symbolic link to a device
(/dev/zero never ends). Such a path is refused as an OSError whose strerror says what it is,
which every caller already turns into one clear line.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

NOT_REGULAR = ("not a regular file but a FIFO, a device or a socket; put the file back "
               "(`git checkout -- FILE`)")


def read_bytes(path: str | Path) -> bytes:
    """The bytes of the regular file at `path` (symbolic links followed)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO: no wait here
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, NOT_REGULAR, str(path))
        with open(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


def read_text(path: str | Path) -> str:
    """The UTF-8 text of the regular file at `path` (UnicodeDecodeError when it is not)."""
    return read_bytes(path).decode("utf-8")
