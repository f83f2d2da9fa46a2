"""Small helpers every git-aware part shares: the project's repository if it has one, and
a path as the user should see it."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError

if TYPE_CHECKING:
    from gitmig.config import Config
    from gitmig.git.snapshot import GitProject


def project_or_none(config: Config) -> GitProject | None:
    """The project's repository; None when it is not in one (gitmig works without git,
    only without what git adds)."""
    from gitmig.git.snapshot import GitProject

    try:
        return GitProject(config)
    except GitmigError:
        return None


def shown_path(path: Path | str, cwd: Path | None = None, quote: bool = False) -> str:
    """`path` relative to where the user is (or `cwd`), as a message shows it; `quote`
    makes it safe to paste into a shell command."""
    try:
        text = os.path.relpath(path, cwd)
    except ValueError:  # another drive on Windows
        text = str(path)
    return shlex.quote(text) if quote else text
