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

# (config, apps) that gitmig.entry asked about and found unknown, just before the full
# command runs in the same process: that command's own question, asked next, is answered
# None (the full comparison) without reading everything again. Used once.
_ASKED_UNKNOWN: list[tuple[str, tuple[str, ...]]] = []


def nothing_pending(config: Config, apps: Sequence[str] = ()) -> bool | None:
    """True when no model change lacks a migration; None when only a full run can tell."""
    asked = (str(config.path), tuple(apps))
    if asked in _ASKED_UNKNOWN:
        _ASKED_UNKNOWN.remove(asked)
        return None
    return _nothing_pending(config, apps)


def unknown_asked(config: Config, apps: Sequence[str] = ()) -> None:
    """The answer was None, and the full command comes next in this process."""
    _ASKED_UNKNOWN.append((str(config.path), tuple(apps)))


def _nothing_pending(config: Config, apps: Sequence[str]) -> bool | None:
    from gitmig.migrations import syncrecord

    labels = [a.label for a in config.select(list(apps))]  # refuses an unknown app
    if syncrecord.in_sync(config):
        return True  # a fresh clone, as makemigrations left it: nothing to import or replay
    graph = load_graph(config)
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
