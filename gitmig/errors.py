"""The two ways a command fails, mapped to exit codes by the CLI.

Anything else escaping a command is a bug in gitmig, never the user's fault.
"""

from __future__ import annotations


class GitmigError(Exception):
    """Bad input or an environment gitmig cannot work with: exit 2, one line."""

    exit_code = 2

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None):
        self.message = message
        self.path = path
        self.line = line
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"


class CheckFailed(GitmigError):
    """A check found something that needs the user's action: exit 1."""

    exit_code = 1
