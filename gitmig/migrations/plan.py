"""Plans: which migrations to apply or unapply, in which order, to reach a target.

Pure: a plan is computed from the graph and the set of applied migrations only.
Applying keeps graph order, so every migration runs after its parents; unapplying runs
in reverse graph order, so every migration is undone before the ones it builds on,
including migrations of other apps that depend on it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

from gitmig import hints
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationGraph

ZERO = "zero"


@dataclass(frozen=True)
class Step:
    key: Key
    backwards: bool = False

    @property
    def label(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"


def forwards(graph: MigrationGraph, targets: Iterable[Key], applied: Collection[Key]) -> list[Step]:
    """The unapplied migrations the targets need (themselves included), in graph order."""
    needed: set[Key] = set()
    for target in targets:
        needed |= graph.ancestors(target)
    return [Step(k) for k in graph.order() if k in needed and k not in applied]


def backwards(graph: MigrationGraph, roots: Iterable[Key], applied: Collection[Key]) -> list[Step]:
    """The applied migrations built on the roots (themselves included), newest first."""
    doomed: set[Key] = set()
    for root in roots:
        doomed |= graph.descendants(root)
    return [Step(k, backwards=True) for k in reversed(graph.order())
            if k in doomed and k in applied]


def full(graph: MigrationGraph, applied: Collection[Key]) -> list[Step]:
    """Everything not applied yet, all apps, in graph order."""
    return [Step(k) for k in graph.order() if k not in applied]


def to_target(
    graph: MigrationGraph,
    applied: Collection[Key],
    app: str | None = None,
    target: str | None = None,
) -> list[Step]:
    """The plan of `gitmig migrate [APP [TARGET]]`.

    No app: every unapplied migration. An app without target: its latest migrations and
    what they need. `zero`: unapply the whole app, and what other apps built on it.
    A named target: unapply what comes after it in its app (and what depends on that),
    then apply what it needs.
    """
    if app is None:
        return full(graph, applied)
    nodes = [f.key for f in graph.app_nodes(app)]
    if target is None:
        return forwards(graph, graph.leaves(app), applied)
    if target == ZERO:
        return backwards(graph, nodes, applied)
    key = graph.resolve(app, target)
    children = [c for c in graph.children[key] if c[0] == app]
    return backwards(graph, children, applied) + forwards(graph, [key], applied)


def resolve_target(graph: MigrationGraph, app: str, target: str) -> Key | None:
    """The migration TARGET names (None for zero); unknown or ambiguous is an error."""
    if target == ZERO:
        return None
    if not graph.app_nodes(app):
        raise GitmigError(f"app {app!r} has no migrations", hint=hints.makemigrations(app))
    return graph.resolve(app, target)


def renamed(graph: MigrationGraph, recorded: Mapping[Key, str]) -> dict[Key, Key]:
    """Recorded migrations (key -> checksum) whose file is gone but whose operations are on
    disk under another name that is not recorded itself: `gitmig resolve` renumbered them,
    which changes a file's name and parents, never its checksum. Matched by app and
    checksum; when several files share one, by the name after the number too."""
    free: dict[tuple[str, str], list[Key]] = {}
    for key, f in graph.nodes.items():
        if key not in recorded:
            free.setdefault((key[0], f.checksum), []).append(key)
    out: dict[Key, Key] = {}
    for key, checksum in sorted(recorded.items()):
        if key in graph.nodes:
            continue
        taken = set(out.values())
        candidates = [k for k in free.get((key[0], checksum), []) if k not in taken]
        if len(candidates) > 1:
            slug = key[1].partition("_")[2]
            candidates = [k for k in candidates if k[1].partition("_")[2] == slug]
        if len(candidates) == 1:
            out[key] = candidates[0]
    return out
