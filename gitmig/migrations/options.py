"""A migration's own settings, read from its file's top level without running it:
`atomic = False` (run each operation on its own, record the migration after the last),
`lock_timeout = SECONDS` and `statement_timeout = SECONDS` (for its DDL), and
`lock_retries = N` (how often it is tried again after a lock timeout); they win over
[tool.gitmig]'s. Only plain constants count."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from gitmig.migrations.loader import assignment


@dataclass(frozen=True)
class Options:
    atomic: bool = True
    lock_timeout: float | None = None
    statement_timeout: float | None = None
    lock_retries: int | None = None


NAMES = ("atomic", "lock_timeout", "statement_timeout", "lock_retries")


def options(path: str) -> Options:
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return Options()
    return of_tree(tree)


def of_tree(tree: ast.Module) -> Options:
    found: dict[str, object] = {}
    for node in tree.body:
        target, value = assignment(node)
        if target in NAMES and isinstance(value, ast.Constant):
            found[target] = value.value
    atomic = found.get("atomic", True)
    return Options(
        atomic=atomic if isinstance(atomic, bool) else True,
        lock_timeout=_seconds(found.get("lock_timeout")),
        statement_timeout=_seconds(found.get("statement_timeout")),
        lock_retries=_count(found.get("lock_retries")),
    )


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return float(value)


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return None
    return value
