"""The migration graph: nodes, parents, leaves and the orders to apply them in.

Pure: built from parsed files, it touches no disk, git or database. A graph that exists
is valid: every parent is known, there is no cycle and no name appears twice.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace

from gitmig import hints
from gitmig.errors import CheckFailed, GitmigError

Key = tuple[str, str]


@dataclass(frozen=True)
class MigrationFile:
    """One migration file as read: its place in the graph and its checksums."""

    app: str
    name: str
    parents: tuple[tuple[str, str], ...]  # (app, name)
    path: str
    parents_line: int
    checksum: str  # of what the migration runs, not of its name, number or parents
    digest: str = ""  # of the file's bytes, when read from disk (keys the state cache)
    legacy_checksum: str = ""  # format 1 (operations only): to upgrade what was recorded
    replaces: tuple[tuple[str, str], ...] = ()  # a squashed migration's originals (app, name)

    @property
    def key(self) -> tuple[str, str]:
        return (self.app, self.name)

    @property
    def number(self) -> int:
        return migration_number(self.name)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


class MigrationGraph:
    """`applied` (the keys a database recorded, when known) decides how a squashed
    migration stands in for the ones it `replaces` (see _fold_replacements)."""

    def __init__(self, files: Iterable[MigrationFile], apps: Sequence[str],
                 applied: Collection[Key] | None = None) -> None:
        self.apps = list(apps)
        self.files = list(files)
        self.nodes: dict[Key, MigrationFile] = {}
        # A squash in use -> what it replaces; a replaced migration -> its squash.
        self.replacing: dict[Key, tuple[Key, ...]] = {}
        self.replaced: dict[Key, Key] = {}
        # Squashes set aside because the database applied part of what they replace.
        self.set_aside: dict[Key, tuple[Key, ...]] = {}
        seen_lower: dict[tuple[str, str], MigrationFile] = {}
        for f in files:
            lower = (f.app, f.name.lower())
            if lower in seen_lower:
                first = seen_lower[lower]
                # One of them would shadow the other on a case-insensitive file system.
                raise GitmigError(
                    f"two migrations of app {f.app!r} have the same name but for case: "
                    f"{first.path} and {f.path}; "
                    "rename or remove one of them"
                )
            seen_lower[lower] = f
            self.nodes[f.key] = f
        self._fold_replacements(applied)
        self.children: dict[Key, list[Key]] = {k: [] for k in self.nodes}
        for f in self.nodes.values():
            for parent in f.parents:
                if parent[0] not in self.apps:
                    raise GitmigError(
                        f"parent {parent[0]}.{parent[1]} is in app {parent[0]!r}, which is not "
                        f"configured (apps: {', '.join(self.apps)})",
                        path=f.path,
                        line=f.parents_line,
                    )
                if parent not in self.nodes:
                    raise GitmigError(
                        f"parent {_label(parent, f.app)} does not exist; restore it or fix "
                        "`parents`",
                        path=f.path,
                        line=f.parents_line,
                    )
                self.children[parent].append(f.key)
        self._order = self._topological()

    def _fold_replacements(self, applied: Collection[Key] | None) -> None:
        """A squashed migration and the migrations it replaces are one history told twice;
        the graph keeps one telling. The squash, unless the database applied some of the
        originals but not all (and not the squash): then the originals, so that it applies
        the rest of them. Parents naming the telling left out are pointed at the other."""
        remap: dict[Key, Key] = {}
        for key in sorted(k for k, f in self.nodes.items() if f.replaces):
            f = self.nodes[key]
            present = [r for r in f.replaces if r in self.nodes and r != key]
            if not present:
                continue
            done = [r for r in present if applied is not None and r in applied]
            if applied is not None and key not in applied and done and len(done) < len(present):
                self.set_aside[key] = tuple(present)
                remap[key] = present[-1]
                del self.nodes[key]
            else:
                self.replacing[key] = tuple(present)
                for r in present:
                    remap[r] = key
                    self.replaced[r] = key
                    del self.nodes[r]
        if not remap:
            return

        def target(k: Key) -> Key:
            seen = set()
            while k in remap and k not in seen:
                seen.add(k)
                k = remap[k]
            return k

        for key, f in list(self.nodes.items()):
            parents = tuple(dict.fromkeys(target(p) for p in f.parents))
            parents = tuple(p for p in parents if p != key)
            if parents != f.parents:
                self.nodes[key] = replace(f, parents=parents)

    @property
    def has_squashes(self) -> bool:
        return any(f.replaces for f in self.files)

    def with_applied(self, applied: Collection[Key]) -> MigrationGraph:
        """The graph as a database that recorded `applied` sees it (squashes)."""
        if not self.has_squashes:
            return self
        return MigrationGraph(self.files, self.apps, applied)

    def effective_applied(self, applied: Collection[Key]) -> set[Key]:
        """The recorded keys, plus each squash in use whose originals are all recorded."""
        out = set(applied)
        for key, originals in self.replacing.items():
            if all(r in out for r in originals):
                out.add(key)
        return out

    def _topological(self) -> list[Key]:
        """Kahn's algorithm, smallest (app index, name) first, so the order is stable."""
        rank = {app: i for i, app in enumerate(self.apps)}
        indegree = {k: len(set(f.parents)) for k, f in self.nodes.items()}
        ready = [(rank.get(k[0], 0), k) for k, d in indegree.items() if d == 0]
        heapq.heapify(ready)
        order: list[Key] = []
        while ready:
            _, key = heapq.heappop(ready)
            order.append(key)
            for child in sorted(set(self.children[key])):
                indegree[child] -= 1
                if indegree[child] == 0:
                    heapq.heappush(ready, (rank.get(child[0], 0), child))
        if len(order) != len(self.nodes):
            cycle = self._find_cycle({k for k in self.nodes if k not in set(order)})
            first = self.nodes[cycle[0]]
            raise GitmigError(
                "migrations depend on each other in a cycle: "
                + " -> ".join(f"{a}.{n}" for a, n in cycle)
                + "; fix `parents` in one of them",
                path=first.path,
                line=first.parents_line,
            )
        return order

    def _find_cycle(self, remaining: set[Key]) -> list[Key]:
        start = min(remaining)
        path: list[Key] = []
        index: dict[Key, int] = {}
        node = start
        while node not in index:
            index[node] = len(path)
            path.append(node)
            node = next(p for p in sorted(self.nodes[node].parents) if p in remaining)
        cycle = path[index[node]:]
        cycle.reverse()
        return [*cycle, cycle[0]]

    # -- queries ------------------------------------------------------------------------

    def order(self) -> list[Key]:
        return list(self._order)

    def app_nodes(self, app: str) -> list[MigrationFile]:
        return [self.nodes[k] for k in self._order if k[0] == app]

    def leaves(self, app: str) -> list[Key]:
        """Migrations of `app` that no other migration of the same app builds on."""
        return sorted(
            k for k in self.nodes
            if k[0] == app and not any(c[0] == app for c in self.children[k])
        )

    def leaf(self, app: str) -> Key | None:
        """The app's latest migration; several are a conflict (a failed check, exit 1)."""
        leaves = self.leaves(app)
        if len(leaves) > 1:
            raise CheckFailed(conflict_headline(app, [n for _, n in leaves]),
                              hint=conflict_fix(app))
        return leaves[0] if leaves else None

    def next_number(self, app: str) -> int:
        """After the app's highest number: of its files, the ones a squash replaces too,
        and of what a squash named `NNNN_squashed_MMMM_...` says it went up to."""
        names = {f.name for f in self.files if f.app == app}
        names |= {k[1] for k in self.nodes if k[0] == app}
        return max((max(migration_number(n), squashed_to(n)) for n in names), default=0) + 1

    def ancestors(self, key: Key) -> set[Key]:
        seen: set[Key] = set()
        stack = [key]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            stack.extend(self.nodes[k].parents)
        return seen

    def descendants(self, key: Key) -> set[Key]:
        seen: set[Key] = set()
        stack = [key]
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            stack.extend(self.children[k])
        return seen

    def resolve(self, app: str, ref: str) -> Key:
        """A migration named in full or by a unique prefix (0003)."""
        if (app, ref) in self.nodes:
            return (app, ref)
        matches = [k for k in self.nodes if k[0] == app and k[1].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise GitmigError(f"app {app!r} has no migration {ref!r}; "
                              f"see `gitmig showmigrations {app}`")
        names = ", ".join(sorted(n for _, n in matches))
        raise GitmigError(f"{ref!r} matches several migrations of {app!r} ({names}); "
                          "give more of the name")


def conflict_headline(app: str, leaves: Sequence[str]) -> str:
    """What several latest migrations in one app mean."""
    return f"app {app!r} has conflicting migrations, several are latest ({', '.join(leaves)})"


def conflict_message(app: str, leaves: Sequence[str]) -> str:
    """The conflict and the command that fixes it, on one line."""
    return f"{conflict_headline(app, leaves)}; {conflict_fix(app)}"


def conflict_fix(app: str) -> str:
    return hints.resolve(app)


def squashed_to(name: str) -> int:
    """0001_squashed_0040_x went up to 40 (0 for any other name)."""
    found = _SQUASHED.match(name)
    return int(found[1]) if found else 0


_SQUASHED = re.compile(r"^\d+_squashed_(\d{4,})(_|$)")


def migration_number(name: str) -> int:
    """0003_x is 3; past 9999 the number simply grows a digit (10000_x)."""
    digits = name.split("_", 1)[0]
    return int(digits) if digits.isdigit() else 0


def _label(key: Key, app: str) -> str:
    return key[1] if key[0] == app else f"{key[0]}.{key[1]}"
