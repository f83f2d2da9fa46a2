"""Whether a process still runs, without importing anything heavy.

Leftovers are named by the process that made them; gitmig.atomic (which removes them)
and the light check every command runs first (gitmig.git.projectlock) must agree on
which processes are gone.
"""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # another user's process (or a number the system will not check)
    return True
