"""The lanes of `gitmig graph` on any graph: plain values in, text out (no git, no disk).

Random histories of up to three apps, with merges, forks, cross-app parents and two other
branches: every migration is drawn once, below every migration built on it, in its own
app's block of columns, and the picture is no wider than its blocks.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gitmig.migrations.graphview import GraphView, Node, draw, render


@st.composite
def views(draw_: st.DrawFn) -> GraphView:
    apps = ["a", "b", "c"][: draw_(st.integers(1, 3))]
    nodes: dict[str, Node] = {}
    for i in range(draw_(st.integers(1, 20))):
        app = draw_(st.sampled_from(apps))
        same = [n for n in nodes.values() if n.app == app]
        other = [n for n in nodes.values() if n.app != app]
        count = draw_(st.integers(0, min(3, len(same))))
        parents = draw_(st.permutations(same))[:count] if same else []
        if other and draw_(st.booleans()):
            parents.append(draw_(st.sampled_from(other)))
        branch = draw_(st.sampled_from([None, None, "x", "y"]))
        if any(p.branch not in (None, branch) for p in parents):
            branch = None  # a branch builds on this one's migrations or on its own
        nid = (f"{branch}:" if branch else "") + f"{app}.{i:04d}_m"
        nodes[nid] = Node(nid, app, f"{i:04d}_m", tuple(p.id for p in parents), None, branch)
    return GraphView(apps, nodes, ["x", "y"])


@given(views())
def test_every_migration_is_drawn_once_below_its_children_in_its_apps_block(
        view: GraphView) -> None:
    lines = draw(view)
    drawn = [line.node.id for line in lines if line.node is not None]
    assert sorted(drawn) == sorted(view.nodes)
    row = {nid: i for i, nid in enumerate(drawn)}
    for n in view.nodes.values():
        assert all(row[p] > row[n.id] for p in n.parents)
    # Each app's stars stay in one block of columns, the blocks side by side, in order.
    columns: dict[str, set[int]] = {}
    for line in lines:
        if line.node is not None:
            columns.setdefault(line.node.app, set()).add(line.graph.index("*"))
    spans = [(min(c), max(c)) for app, c in columns.items()]
    spans.sort()
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:], strict=False))
    width = max(len(line.graph) for line in lines)
    assert all(set(line.graph) <= set(" *|/\\X") for line in lines)
    assert all(text[:width].rstrip() == line.graph
               for (text, _), line in zip(render(view), lines, strict=True))
