"""Where output goes: rich on a terminal, plain text when piped.

Text from users (table names, paths) is never read as rich markup.
"""

from __future__ import annotations

import functools
import sys
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
    out().print(text, style=style, markup=False)


def warn(text: str) -> None:
    err().print(f"warning: {text}", style="yellow", markup=False)


def is_interactive() -> bool:
    return sys.stdin.isatty()
