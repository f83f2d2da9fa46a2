"""A Ctrl-C that waits for the migration under way, for every batch runner alike.

A batch's migrations are reported OK before their commit: a Ctrl-C that dropped the
connection mid-statement would take them back. While migrations await their commit, the
first Ctrl-C is only noted, and the runner stops at the next migration's edge once they
are committed (gitmig.db.batch.BaseBatch). The standard library only: the warm paths
(gitmig.db.sqlitebatch, gitmig.actions.warmpg) import no SQLAlchemy.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def deferring_sigint(defer: Callable[[], bool]) -> Iterator[None]:
    """While inside, a Ctrl-C calls `defer()`: True means it was noted for the caller to
    act on at its next edge; False raises KeyboardInterrupt, as Python's own handler does.
    Only where Ctrl-C has Python's own handler (not in a fleet's workers, which ignore it,
    nor off the main thread); elsewhere nothing changes."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        if not defer():
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
