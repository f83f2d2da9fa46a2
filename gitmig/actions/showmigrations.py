"""What the database's history says next to the migration files: showmigrations' view.

Read-only: it never creates the history table or a SQLite file, and takes no lock.
A row whose file is gone (another branch's migration) or whose file changed since it
was applied is reported as such, not hidden. A SQLite file is read without SQLAlchemy
(gitmig.db.history.read_applied), so listing a thousand migrations costs little more
than reading their files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gitmig.config import Config
from gitmig.db.history import read_applied
from gitmig.db.history.rows import Applied
from gitmig.migrations.graph import Key, MigrationGraph

if TYPE_CHECKING:
    from gitmig.git.missing import Missing


@dataclass(frozen=True)
class Entry:
    """One migration as showmigrations lists it."""

    app: str
    name: str
    applied: bool
    parents: tuple[str, ...] = ()
    applied_at: dt.datetime | None = None
    git_commit: str | None = None
    missing: bool = False  # recorded as applied, but no such file
    edited: bool = False  # the file changed after it was applied
    in_git: str | None = None  # missing: `file in git: 3f2a1c9` or `file not found in git`
    git_commit_of_file: str | None = None  # missing: the commit git has its file in
    unapply: str | None = None  # missing: the command that unapplies it

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"

    def as_json(self) -> dict[str, Any]:
        data = {
            "app": self.app,
            "name": self.name,
            "applied": self.applied,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
            "git_commit": self.git_commit,
            "missing": self.missing,
            "edited": self.edited,
            "parents": list(self.parents),
        }
        if self.missing:
            data["file_in_git"] = self.git_commit_of_file
            data["unapply"] = self.unapply
        return data


@dataclass
class History:
    """The migration files beside the database's history table."""

    url: str  # printable, password hidden
    graph: MigrationGraph
    applied: dict[Key, Applied] = field(default_factory=dict)
    elsewhere: dict[Key, Missing] = field(default_factory=dict)  # applied, file missing

    def entry(self, key: Key) -> Entry:
        row = self.applied.get(key)
        f = self.graph.nodes.get(key)
        gone = self.elsewhere.get(key)
        return Entry(
            app=key[0],
            name=key[1],
            applied=row is not None,
            parents=tuple(f"{a}.{n}" for a, n in f.parents) if f else (),
            applied_at=row.applied_at if row else None,
            git_commit=row.git_commit if row else None,
            missing=f is None,
            edited=bool(f and row and f.checksum != row.checksum),
            in_git=gone.where() if gone else None,
            git_commit_of_file=gone.found.commit if gone and gone.found else None,
            unapply=gone.command if gone else None,
        )

    def by_app(self, apps: list[str]) -> dict[str, list[Entry]]:
        """Each app's migrations in graph order, then the applied ones with no file."""
        out: dict[str, list[Entry]] = {}
        for app in apps:
            entries = [self.entry(f.key) for f in self.graph.app_nodes(app)]
            gone = sorted(k for k in self.applied if k[0] == app and k not in self.graph.nodes)
            out[app] = entries + [self.entry(k) for k in gone]
        return out

    def plan(self, apps: list[str]) -> list[Entry]:
        """Every migration in apply order (all apps' migrations that the apps need)."""
        wanted = set(apps)
        keys = [k for k in self.graph.order() if k[0] in wanted]
        needed: set[Key] = set()
        for k in reversed(keys):  # latest first: most keys are then already needed
            if k not in needed:
                needed |= self.graph.ancestors(k)
        entries = [self.entry(k) for k in self.graph.order() if k in needed]
        gone = sorted(k for k in self.applied if k[0] in wanted and k not in self.graph.nodes)
        return entries + [self.entry(k) for k in gone]


def read_history(config: Config, database: str | None = None) -> History:
    """The graph and the applied migrations, checked: unknown apps in the history fail."""
    from gitmig.db.history.rows import check_apps
    from gitmig.migrations.loader import load_graph, upgrade_recorded

    graph = load_graph(config)
    url, applied = read_applied(config.database_url(database), config.timeouts)
    applied = upgrade_recorded(graph, applied)[0]  # rows of an older gitmig: see migrate
    if graph.has_squashes:  # (migrate's module is heavy: only when there is a squash)
        from gitmig.actions.migrate import as_squashed

        graph, applied = as_squashed(graph, applied)
    history = History(url, graph, applied)
    if any(k not in graph.nodes for k in applied):  # renumbered, or applied elsewhere
        history.applied = renumbered(graph, applied)
    check_apps(config, history.applied)
    if any(k not in graph.nodes for k in history.applied):
        from gitmig.git.missing import applied_missing  # looks in git: only when needed

        missing = applied_missing(config, graph, history.applied)
        history.elsewhere = {m.key: m for m in missing}
    return history


def renumbered(graph: MigrationGraph, applied: dict[Key, Applied]) -> dict[Key, Applied]:
    """Rows of migrations `gitmig resolve` renumbered, under their new names (the next
    migrate renames the rows themselves; see gitmig.migrations.plan.renamed)."""
    from dataclasses import replace

    from gitmig.migrations.plan import renamed

    renames = renamed(graph, {k: a.checksum for k, a in applied.items()})
    return {renames.get(k, k): replace(a, name=renames[k][1]) if k in renames else a
            for k, a in applied.items()}
