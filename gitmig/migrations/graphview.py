"""The migration graph as a picture: what `gitmig graph` draws, in lanes, as text.

Pure: built from plain values (a MigrationGraph, the applied keys, other branches'
migrations), it touches no disk, git or database. One line per migration, newest first as
`git log --graph` draws commits. Each app owns a block of columns side by side, so apps
never cross: a lane per line of history inside the app (a merge migration fans out, two
latest migrations fork), and a parent in another app is written after the name rather
than drawn across the other lanes.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gitmig.migrations.graph import Key, MigrationGraph, migration_number


@dataclass(frozen=True)
class Node:
    """One migration in the picture; `id` is `app.name`, or `branch:app.name` for a
    migration another branch adds (both sides may add a 0003)."""

    id: str
    app: str
    name: str
    parents: tuple[str, ...] = ()  # ids, in any app
    applied: bool | None = None  # None: no database was read
    branch: str | None = None  # the other branch adding it; None: this one
    replaces: tuple[str, ...] = ()  # a squash in use: the labels of the migrations it stands for

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


@dataclass
class GraphView:
    apps: list[str]
    nodes: dict[str, Node]
    branches: list[str] = field(default_factory=list)  # other branches shown, in order
    database: str | None = None  # printable URL the [X] marks come from

    def same_app_parents(self, node: Node) -> list[str]:
        return [p for p in node.parents if p in self.nodes and self.nodes[p].app == node.app]

    def other_parents(self, node: Node) -> list[str]:
        """Parents drawn as a note: another app's, or one this picture does not hold."""
        return [p for p in node.parents if p not in self.nodes or self.nodes[p].app != node.app]

    def is_merge(self, node: Node) -> bool:
        return len(self.same_app_parents(node)) > 1

    def rows(self) -> list[Node]:
        """Newest first: a topological order of parents before children, by migration
        number then app, reversed, so apps' histories interleave as they grew; other
        branches' migrations come last (they are not here yet), so they are drawn on top."""
        rank = {app: i for i, app in enumerate(self.apps)}
        branch_rank = {b: i + 1 for i, b in enumerate(self.branches)}

        def priority(n: Node) -> tuple[Any, ...]:
            return (branch_rank.get(n.branch or "", 0), migration_number(n.name),
                    rank.get(n.app, len(rank)), n.name, n.id)

        children: dict[str, list[str]] = {i: [] for i in self.nodes}
        indegree = {}
        for n in self.nodes.values():
            known = {p for p in n.parents if p in self.nodes}
            indegree[n.id] = len(known)
            for p in known:
                children[p].append(n.id)
        ready = [(priority(n), n.id) for n in self.nodes.values() if indegree[n.id] == 0]
        heapq.heapify(ready)
        order: list[Node] = []
        while ready:
            _, nid = heapq.heappop(ready)
            order.append(self.nodes[nid])
            for c in children[nid]:
                indegree[c] -= 1
                if indegree[c] == 0:
                    heapq.heappush(ready, (priority(self.nodes[c]), c))
        order.reverse()
        return order

    def as_json(self) -> dict[str, Any]:
        return {
            "database": self.database,
            "apps": self.apps,
            "branches": self.branches,
            "migrations": [
                {"id": n.id, "app": n.app, "name": n.name, "parents": list(n.parents),
                 "applied": n.applied, "branch": n.branch, "merge": self.is_merge(n),
                 "replaces": list(n.replaces)}
                for n in reversed(self.rows())
            ],
        }


def from_graph(
    graph: MigrationGraph,
    apps: Sequence[str],
    applied: Iterable[Key] | None = None,
) -> GraphView:
    """The apps' migrations and every migration of other apps they need (drawn in those
    apps' lanes); `applied` None means no database was read (no marks)."""
    wanted = set(apps)
    keys: set[Key] = set()
    stack = [k for k in graph.nodes if k[0] in wanted]
    while stack:  # the apps' migrations and all their ancestors, each visited once
        key = stack.pop()
        if key not in keys:
            keys.add(key)
            stack.extend(graph.nodes[key].parents)
    done = set(applied) if applied is not None else None
    shown_apps = [a for a in graph.apps if a in wanted or any(k[0] == a for k in keys)]
    nodes = {}
    for key in graph.order():
        if key in keys:
            f = graph.nodes[key]
            nodes[f.label] = Node(f.label, f.app, f.name,
                                  tuple(f"{a}.{n}" for a, n in f.parents),
                                  None if done is None else key in done,
                                  replaces=tuple(f"{a}.{n}" for a, n
                                                 in graph.replacing.get(key, ())))
    return GraphView(shown_apps, nodes)


def add_branch(view: GraphView, branch: str, files: Mapping[Key, tuple[Key, ...]]) -> None:
    """Migrations `branch` adds since its merge base (key -> parents), on their own lanes in
    their apps' blocks; a parent the branch also adds points at the branch's own copy."""
    ids = {key: f"{branch}:{key[0]}.{key[1]}" for key in files}
    for key, parents in files.items():
        if key[0] not in view.apps:
            continue
        view.nodes[ids[key]] = Node(
            ids[key], key[0], key[1],
            tuple(ids.get(p, f"{p[0]}.{p[1]}") for p in parents), None, branch,
        )
    if any(n.branch == branch for n in view.nodes.values()):
        view.branches.append(branch)


# -- the terminal picture ------------------------------------------------------------------


@dataclass
class Line:
    graph: str  # the lanes' characters
    node: Node | None = None  # None: a line joining or forking lanes


def draw(view: GraphView) -> list[Line]:
    """The lanes, `git log --graph` style: `*` a migration, `|` a lane going on, `\\` and
    `/` lanes forking (below a merge) and joining (above a migration two build on)."""
    rows = view.rows()
    # An app with history on this branch keeps its first column for it.
    reserve = {app: any(n.app == app and not n.branch for n in rows) for app in view.apps}
    blocks = {app: _AppLanes() for app in view.apps}
    offsets: dict[str, int] = {}
    widths = {app: _width(view, app, rows, reserve[app]) for app in view.apps}
    start = 0
    for app in view.apps:
        offsets[app] = start
        start += widths[app]
    total = start
    out: list[Line] = []
    for node in rows:
        lanes = blocks[node.app]
        was = list(lanes.columns)
        column, joins = lanes.place(node.id, reserve[node.app] and node.branch is not None)
        if joins:
            going_on = column < len(was) and was[column] == node.id
            for moves in _steps([(j, column) for j in joins], lanes.active() - {column},
                                column if going_on else None):
                out.append(Line(_compose(blocks, offsets, total, node.app, moves)))
        marks = {column: "*"}
        out.append(Line(_compose(blocks, offsets, total, node.app, None, marks), node))
        forks = lanes.advance(node.id, view.same_app_parents(node))
        if forks:
            edges = [(column, column)] + [(column, f) for f in forks]
            for moves in _steps(edges, lanes.active(), None):
                out.append(Line(_compose(blocks, offsets, total, node.app, moves)))
        lanes.settle()  # as _width does, so both place lanes alike
    return out


def _width(view: GraphView, app: str, rows: list[Node], reserve: bool) -> int:
    """The most columns the app's lanes take at once (a first pass of draw's placing)."""
    lanes = _AppLanes()
    widest = 0
    for node in rows:
        if node.app != app:
            continue
        lanes.place(node.id, reserve and node.branch is not None)
        lanes.advance(node.id, view.same_app_parents(node))
        widest = max(widest, len(lanes.columns))
        lanes.settle()
    return widest


class _AppLanes:
    """One app's columns: each waits for the migration it will meet next (going down)."""

    def __init__(self) -> None:
        self.columns: list[str | None] = []

    def active(self) -> set[int]:
        return {i for i, c in enumerate(self.columns) if c is not None}

    def place(self, nid: str, away: bool = False) -> tuple[int, list[int]]:
        """The node's column, and the other columns that wait for it (they join it). A
        new lane takes the first free column; `away` (another branch's) never the first,
        which this branch's history keeps."""
        waiting = [i for i, c in enumerate(self.columns) if c == nid]
        if not waiting:
            free = [i for i, c in enumerate(self.columns) if c is None and not (away and i == 0)]
            if away and not self.columns:
                self.columns.append(None)
            column = free[0] if free else len(self.columns)
            if column == len(self.columns):
                self.columns.append(nid)
            else:
                self.columns[column] = nid
            return column, []
        column, joins = waiting[0], waiting[1:]
        if not away and column != 0 and self.columns and self.columns[0] is None:
            column, joins = 0, waiting  # this branch's history back in the first column
        for j in joins:
            self.columns[j] = None
        self.columns[column] = nid
        return column, joins

    def advance(self, nid: str, parents: list[str]) -> list[int]:
        """Below the node its column waits for its first parent; more parents (a merge)
        fork into free columns, returned. A parent another column already waits for is
        met there (the lanes join at it)."""
        column = self.columns.index(nid)
        self.columns[column] = parents[0] if parents else None
        forks = []
        for p in parents[1:]:
            free = [i for i, c in enumerate(self.columns) if c is None and i != column]
            target = free[0] if free else len(self.columns)
            if target == len(self.columns):
                self.columns.append(p)
            else:
                self.columns[target] = p
            forks.append(target)
        return forks

    def settle(self) -> None:
        while self.columns and self.columns[-1] is None:
            self.columns.pop()


def _steps(
    edges: list[tuple[int, int]], active: set[int], keep: int | None
) -> list[dict[int, str]]:
    """Lines moving each edge one column at a time towards its target (half-columns as
    `\\` and `/`), other active lanes going straight down."""
    position = {i: src for i, (src, _) in enumerate(edges)}
    lines: list[dict[int, str]] = []
    moving = {c for src, dst in edges if src != dst for c in (src, dst)}
    straight = (active - moving) | ({keep} if keep is not None else set())
    while any(position[i] != dst for i, (_, dst) in enumerate(edges)):
        chars: dict[int, str] = {2 * c: "|" for c in straight}
        for i, (_, dst) in enumerate(edges):
            x = position[i]
            if x == dst:
                chars.setdefault(2 * x, "|")
            elif dst > x:
                chars[2 * x + 1] = "X" if chars.get(2 * x + 1) == "/" else "\\"
                position[i] = x + 1
            else:
                chars[2 * x - 1] = "X" if chars.get(2 * x - 1) == "\\" else "/"
                position[i] = x - 1
        lines.append(chars)
    return lines


def _compose(
    blocks: Mapping[str, _AppLanes],
    offsets: Mapping[str, int],
    total: int,
    app: str,
    moves: dict[int, str] | None,
    marks: dict[int, str] | None = None,
) -> str:
    """One line of the picture: every app's lanes; `app`'s drawn from `moves` (a joining or
    forking line) or with `marks` on its node's column."""
    chars = [" "] * (2 * total)
    for other, lanes in blocks.items():
        base = 2 * offsets[other]
        if other == app and moves is not None:
            for x, ch in moves.items():
                chars[base + x] = ch
            continue
        for c in lanes.active():
            chars[base + 2 * c] = "|"
        if other == app and marks:
            for c, ch in marks.items():
                chars[base + 2 * c] = ch
    return "".join(chars).rstrip()


def render(view: GraphView) -> list[tuple[str, str | None]]:
    """The terminal picture: lines of (text, rich style)."""
    lines = draw(view)
    width = max((len(line.graph) for line in lines), default=0)
    out: list[tuple[str, str | None]] = []
    for line in lines:
        if line.node is None:
            out.append((line.graph, None))
            continue
        n = line.node
        mark = "" if n.applied is None else ("[X] " if n.applied else "[ ] ")
        text = f"{line.graph.ljust(width)}  {mark}{n.label}"
        notes = []
        if n.branch:
            notes.append(f"on {n.branch}")
        if view.is_merge(n):
            notes.append("merge")
        if n.replaces:
            notes.append(replaces_note(n))
        others = [_shown(view, p) for p in view.other_parents(n)]
        if others:
            notes.append("after " + ", ".join(others))
        if notes:
            text += f"  ({'; '.join(notes)})"
        style = "yellow" if n.branch else ("green" if n.applied else None)
        out.append((text, style))
    return out


def replaces_note(node: Node) -> str:
    """`squash of 0001_initial to 0003_user_add_name`: what a squash stands for, until
    `squash --finish` removes the originals."""
    names = [r.split(".", 1)[1] if r.startswith(f"{node.app}.") else r for r in node.replaces]
    return f"squash of {names[0]}" + (f" to {names[-1]}" if len(names) > 1 else "")


def _shown(view: GraphView, pid: str) -> str:
    node = view.nodes.get(pid)
    if node is None:
        return pid.split(":", 1)[-1]
    return f"{node.label} on {node.branch}" if node.branch else node.label
