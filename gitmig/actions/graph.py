"""What `gitmig graph` draws: the migration graph, the database's marks, other branches.

The graph is read from the files (never run); the marks from the history table, read-only
as showmigrations reads it; other branches through git (gitmig.git.branches).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gitmig.config import DATABASE_ENV, Config
from gitmig.errors import CheckFailed, GitmigError
from gitmig.migrations.graphview import GraphView, add_branch, from_graph


@dataclass(frozen=True)
class Options:
    apps: tuple[str, ...] = ()
    database: str | None = None
    marks: bool = True  # read the database for [X] (when one is configured)
    against: tuple[str, ...] = ()
    all_branches: bool = False


def graph_view(config: Config, options: Options) -> GraphView:
    """The picture's content; without a configured database there are simply no marks."""
    from gitmig.migrations.loader import load_graph

    labels = [a.label for a in config.select(options.apps)]
    has_db = bool(options.database or os.environ.get(DATABASE_ENV) or config.database)
    if options.marks and has_db:
        from gitmig.actions.showmigrations import read_history

        try:
            history = read_history(config, options.database)
        except GitmigError as exc:
            if exc.hint or exc.path or isinstance(exc, CheckFailed):  # not the database
                raise
            raise GitmigError(exc.message, hint="`gitmig graph --no-database` draws the graph "
                              "without [X] marks") from None
        graph = history.graph
        view = from_graph(graph, labels, history.applied)
        view.database = history.url
    else:
        graph = load_graph(config)
        view = from_graph(graph, labels)
    if options.against or options.all_branches:
        from gitmig.git import branches
        from gitmig.git.snapshot import GitProject

        project = GitProject(config)
        found = (branches.every_branch(project, graph) if options.all_branches
                 else branches.against(project, graph, options.against))
        for b in found:
            add_branch(view, b.branch, b.added)
    return view
