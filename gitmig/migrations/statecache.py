"""The cache of replayed states (and, re-exported from gitmig.cache, its primitives and
the models' state): see gitmig.cache for how entries are keyed and kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitmig.cache import (
    FORMAT,
    cache_dir,
    code_fingerprint,
    digest,
    enabled,
    files_digest,
    load,
    models_state,
    remember_models_state,
    store,
)

if TYPE_CHECKING:
    from gitmig.migrations.graph import Key, MigrationGraph

__all__ = [
    "FORMAT",
    "cache_dir",
    "code_fingerprint",
    "digest",
    "enabled",
    "files_digest",
    "load",
    "models_state",
    "prefix_state",
    "remember_models_state",
    "remember_prefix_state",
    "replay_key",
    "replayed_state",
    "store",
]


def replay_key(graph: MigrationGraph) -> tuple[str, list[tuple[str, str, str]]]:
    """(scope, items): where a graph's replayed state is kept, and what it was made of."""
    items = [(k[0], k[1], graph.nodes[k].digest) for k in graph.order()]
    scope = "\0".join(sorted({str(Path(f.path).parent) for f in graph.nodes.values()}))
    return scope, items


def replayed_state(graph: MigrationGraph) -> Any:
    """The state of exactly these migrations, if it was replayed before; else None."""
    scope, items = replay_key(graph)
    if not all(d for _, _, d in items):
        return None
    cached = load("replay", scope)
    if isinstance(cached, dict) and cached.get("items") == items:
        return cached["state"]
    return None


# -- states of the applied part of a history (migrate) -------------------------------------
#
# `migrate` with one new migration on a database with all the others needs the state those
# others make, which replaying costs as much as the whole history. Each run leaves the state
# it ended with, under a digest of exactly the migrations (app, name, file digest) that made
# it, in graph order; the next run, whose applied migrations are those, starts from it. A
# few entries are kept per migrations folder (the newest first), so a deploy that applies
# one migration, or a branch switch back and forth, finds its state.

PREFIX_KEEP = 4


def prefix_items(graph: MigrationGraph, keys: list[Key]) -> list[tuple[str, str, str]] | None:
    """What the state after `keys` (in graph order) is made of; None if a file has no
    digest (not read from disk), so nothing is cached for it."""
    items = [(k[0], k[1], graph.nodes[k].digest) for k in keys]
    return items if all(d for _, _, d in items) else None


def prefix_state(graph: MigrationGraph, keys: list[Key]) -> Any:
    """The state after exactly these migrations, if a run left it; else None."""
    items = prefix_items(graph, keys)
    if items is None or not items:
        return None
    entries = load("prefix", replay_key(graph)[0])
    if not isinstance(entries, list):
        return None
    wanted = digest(repr(items).encode())
    for entry in entries:
        if (isinstance(entry, dict) and entry.get("digest") == wanted
                and entry.get("items") == items):
            return entry.get("state")
    return None


def remember_prefix_state(graph: MigrationGraph, keys: list[Key], state: Any) -> None:
    items = prefix_items(graph, keys)
    if items is None or not items:
        return
    scope = replay_key(graph)[0]
    wanted = digest(repr(items).encode())
    entries = load("prefix", scope)
    kept = [e for e in entries if isinstance(e, dict) and e.get("digest") != wanted][
        : PREFIX_KEEP - 1] if isinstance(entries, list) else []
    store("prefix", scope, [{"digest": wanted, "items": items, "state": state}, *kept])
