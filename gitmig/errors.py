"""The two ways a command fails, mapped to exit codes by the CLI.

An error is what was found (`message`) and, apart from it, what to do next (`hint`), as
django-linear-migrations keeps them: the CLI prints them on two lines, and text that
quotes an error inside other output (a hook's warning, a status line) joins them.
Anything else escaping a command is a bug in gitmig, never the user's fault.
"""

from __future__ import annotations


class GitmigError(Exception):
    """Bad input or an environment gitmig cannot work with: exit 2, one line (and a hint)."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None, path: str | None = None,
                 line: int | None = None):
        self.message = message
        self.hint = hint
        self.path = path
        self.line = line
        super().__init__(self.render())

    def headline(self) -> str:
        """Where (file and line, when known) and what: the CLI's `gitmig: error:` line."""
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        return f"{where}{self.message}"

    def render(self) -> str:
        """The whole error on one line, hint included, for output that quotes it."""
        return f"{self.headline()}; {self.hint}" if self.hint else self.headline()


class CheckFailed(GitmigError):
    """A check found something that needs the user's action: exit 1."""

    exit_code = 1
