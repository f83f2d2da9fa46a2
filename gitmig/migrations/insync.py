"""The question `makemigrations --check` asks most often, answered from the state cache.

When the models and the migrations are exactly as they were at a run that already compared
them, the answer needs neither SQLAlchemy nor the models: both states come from
gitmig.migrations.statecache. Any doubt (a cache miss, a changed file) means "unknown", and the
caller does the full comparison.
"""

from __future__ import annotations

from collections.abc import Sequence

from gitmig.config import Config
from gitmig.migrations import lockfile, statecache
from gitmig.migrations.loader import load_graph

# (config, apps) already found unknown in this process (gitmig.entry asks before the full
# command does): None only ever sends the caller to the full comparison, so it is reused.
_UNKNOWN: set[tuple[str, tuple[str, ...]]] = set()


def nothing_pending(config: Config, apps: Sequence[str] = ()) -> bool | None:
    """True when no model change lacks a migration; None when only a full run can tell."""
    asked = (str(config.path), tuple(apps))
    if asked in _UNKNOWN:
        return None
    found = _nothing_pending(config, apps)
    if found is None:
        _UNKNOWN.add(asked)
    return found


def _nothing_pending(config: Config, apps: Sequence[str]) -> bool | None:
    graph = load_graph(config)
    labels = [a.label for a in config.select(list(apps))]
    for label in config.apps:
        if len(graph.leaves(label)) > 1:
            return None  # the full run reports the conflict
        if config.lockfile and graph.app_nodes(label):
            if lockfile.verify_worktree(config, graph, label).state != lockfile.OK:
                return None  # the full run writes or reports the lock file
    models = statecache.models_state(config.path)
    replayed = statecache.replayed_state(graph) if models is not None else None
    if models is None or replayed is None:
        return None
    if set(labels) - {t.app for t in models.tables.values()}:
        return None  # the full run warns about an app without tables
    return bool(models.for_apps(labels) == replayed.for_apps(labels)) or None
