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
    from gitmig.migrations.graph import MigrationGraph

__all__ = [
    "FORMAT",
    "cache_dir",
    "code_fingerprint",
    "digest",
    "enabled",
    "files_digest",
    "load",
    "models_state",
    "remember_models_state",
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
