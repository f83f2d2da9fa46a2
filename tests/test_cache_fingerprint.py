"""gitmig.cache.code_fingerprint lists the package with os.scandir (every command pays for
it): the same digest as the plain Path.rglob way, so it changes whenever a source does."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

from gitmig import cache


def test_the_fingerprint_is_the_rglob_one() -> None:
    parts = [str(cache.FORMAT)]
    package = Path(cache.__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        parts.append(f"{path.relative_to(package)}:{st.st_mtime_ns}:{st.st_size}")
    spec = importlib.util.find_spec("sqlalchemy")
    assert spec is not None and spec.origin
    st = os.stat(spec.origin)
    parts.append(f"{spec.origin}:{st.st_mtime_ns}:{st.st_size}")
    parts.append(sys.version)  # the interpreter too: the hook may run another one
    assert cache.code_fingerprint.__wrapped__() == cache.digest("\n".join(parts).encode())
