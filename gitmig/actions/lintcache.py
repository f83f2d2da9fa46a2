"""What the pre-commit hook's lint says of the staged migrations, kept in the state cache.

The hook lints the migrations a commit adds (`gitmig lint` with the keys it found staged),
which imports them, the rules and SQLAlchemy. What it says depends only on: the
configuration file and the database URL override, the working tree's migration files (in
graph order, with their digests: the files judged and the state before them), which of
them are judged, the merge base whose models the running code has (lint reads them only
for some rules), and gitmig's, SQLAlchemy's and Python's code (gitmig.cache keys every entry
by those). The entry is kept under all of it, so a hit says exactly what a run would.

`gitmig makemigrations` fills the entry for the migrations it wrote, which is what the
commit that follows usually stages, when the lint can be told without the running code's
models (those would need a child process importing the merge base; then the hook runs the
lint itself).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING

from gitmig import cache
from gitmig.config import DATABASE_ENV, Config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject
    from gitmig.lint.model import Finding
    from gitmig.schema.state import SchemaState

KIND = "hook-lint"


@dataclass(frozen=True)
class Said:
    """A finding as the hook prints it (lint.model's Finding imports SQLAlchemy)."""

    path: str
    line: int | None
    severity: str
    rule: str
    message: str
    safe: str


def said(findings: Iterable[Finding]) -> list[Said]:
    return [Said(f.path, f.line, f.severity, f.rule, f.message, f.safe) for f in findings]


def key(project: GitProject, keys: list[Key]) -> str | None:
    """Everything the lint of `keys` reads but the code; None when a migration file was
    not read from disk (it has no digest) or the configuration cannot be read."""
    from gitmig.git.mergebase import running_base
    from gitmig.migrations.loader import load_graph

    config = project.config
    graph = load_graph(config)
    items = [(k[0], k[1], graph.nodes[k].digest) for k in graph.order()]
    if not all(d for _, _, d in items):
        return None
    try:
        pyproject = cache.digest(config.path.read_bytes())
    except OSError:
        return None
    return repr((str(config.path), pyproject, os.environ.get(DATABASE_ENV, ""), items,
                 sorted(keys), running_base(project)))


def cached(config: Config, wanted: str | None) -> list[Said] | None:
    """The findings kept for exactly `wanted`; None when there are none or the entry is
    not one this code wrote whole (damaged, another version)."""
    if wanted is None:
        return None
    entry = cache.load(KIND, str(config.path))
    if not isinstance(entry, dict) or entry.get("key") != wanted:
        return None
    rows = entry.get("said")
    if not isinstance(rows, list):
        return None
    out = []
    for row in rows:
        if not (isinstance(row, tuple) and len(row) == 6
                and all(isinstance(v, str) for i, v in enumerate(row) if i != 1)
                and (row[1] is None or isinstance(row[1], int))):
            return None
        out.append(Said(*row))
    return out


def remember(config: Config, wanted: str | None, found: list[Said]) -> None:
    if wanted is not None:
        cache.store(KIND, str(config.path),
                    {"key": wanted, "said": [astuple(f) for f in found]})


class _WouldImport(Exception):
    """A rule asked for the running code's models."""


def prefill(config: Config, keys: list[Key]) -> None:
    """After makemigrations wrote `keys`: what the hook's lint of exactly those will say,
    unless a rule needs the running code's models. Best effort, and silent."""
    from gitmig.actions.lint import BaseModels, lint
    from gitmig.git.snapshot import GitProject

    class Unread(BaseModels):
        def state(self) -> SchemaState:
            raise _WouldImport

        def model_of(self, table_key: str) -> str | None:
            raise _WouldImport

    try:
        project = GitProject(config)
        wanted = key(project, keys)
        if wanted is None or cached(config, wanted) is not None:
            return
        result = lint(config, keys=keys, running_as=Unread)
    except (GitmigError, _WouldImport):
        return
    remember(config, wanted, said(result.shown))
