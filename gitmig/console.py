"""Where output goes: rich on a terminal, plain text when piped.

Text from users (table names, paths) is never read as rich markup.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Iterable
from typing import Any


@functools.cache
def out() -> Any:
    from rich.console import Console

    return Console(soft_wrap=True, highlight=False, emoji=False)


@functools.cache
def err() -> Any:
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True, highlight=False, emoji=False)


def say(text: str = "", style: str | None = None) -> None:
    say_lines([(text, style)])


def say_lines(lines: Iterable[tuple[str, str | None]]) -> None:
    """Many (text, style) lines at once: one write when the output is plain (rich is not
    even imported), else one rich print, whose cost grows with calls more than text."""
    if plain():
        sys.stdout.write("".join(f"{text}\n" for text, _ in lines))
        return
    from rich.text import Text

    shown = Text()
    for text, style in lines:
        shown.append(text, style=style)
        shown.append("\n")
    out().print(shown, end="")


def plain() -> bool:
    """Whether rich would print to stdout without colours: not a terminal, and neither
    TTY_COMPATIBLE=1 nor FORCE_COLOR says otherwise (rich's own rules)."""
    tty_compatible = os.environ.get("TTY_COMPATIBLE", "")
    if tty_compatible in ("0", "1"):
        return tty_compatible == "0"
    if os.environ.get("FORCE_COLOR") is not None:
        return os.environ["FORCE_COLOR"] == ""
    try:
        return not sys.stdout.isatty()
    except ValueError:  # closed
        return True


def warn(text: str) -> None:
    err().print(f"warning: {text}", style="yellow", markup=False)


def is_interactive() -> bool:
    return sys.stdin.isatty()
