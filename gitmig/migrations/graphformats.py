"""The migration graph as Mermaid and Graphviz text, for a pull request or a wiki.

The same picture as the terminal's: a box per app holding its migrations, an arrow from
each parent to its child (dashed when the parent is in another app), applied migrations
filled, other branches' migrations outlined in their own colour and labelled with the
branch. Ids are made of letters, digits and underscores only, so neither language needs
its quoting rules for them; labels are quoted.
"""

from __future__ import annotations

from gitmig.migrations.graphview import GraphView, Node, replaces_note


def _ids(view: GraphView) -> dict[str, str]:
    return {nid: f"m{i}" for i, nid in enumerate(n.id for n in reversed(view.rows()))}


def _label(node: Node, merge: bool) -> str:
    text = node.label
    if node.applied:
        text = "[X] " + text
    elif node.applied is False:
        text = "[ ] " + text
    if node.branch:
        text += f" (on {node.branch})"
    if merge:
        text += " (merge)"
    if node.replaces:
        text += f" ({replaces_note(node)})"
    return text


def mermaid(view: GraphView) -> str:
    """A Mermaid `flowchart`, oldest at the top."""
    ids = _ids(view)
    order = list(reversed(view.rows()))
    lines = ["flowchart TB"]
    for i, app in enumerate(view.apps):
        members = [n for n in order if n.app == app]
        if not members:
            continue
        lines.append(f'  subgraph app{i}["{_mermaid_text(app)}"]')
        for n in members:
            lines.append(f'    {ids[n.id]}["{_mermaid_text(_label(n, view.is_merge(n)))}"]')
        lines.append("  end")
    for n in order:
        for p in n.parents:
            if p not in ids:
                continue
            arrow = "-->" if view.nodes[p].app == n.app else "-.->"
            lines.append(f"  {ids[p]} {arrow} {ids[n.id]}")
    lines.append("  classDef applied fill:#d4f4dd,stroke:#2e7d32")
    lines.append("  classDef branch fill:#fff3cd,stroke:#b7791f,stroke-dasharray:4")
    applied = [ids[n.id] for n in order if n.applied]
    branch = [ids[n.id] for n in order if n.branch]
    if applied:
        lines.append(f"  class {','.join(applied)} applied")
    if branch:
        lines.append(f"  class {','.join(branch)} branch")
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Inside a quoted Mermaid label a double quote ends it: write it as an entity."""
    return text.replace('"', "#quot;")


def dot(view: GraphView) -> str:
    """A Graphviz digraph (`dot -Tsvg`), oldest at the top, one cluster per app."""
    ids = _ids(view)
    order = list(reversed(view.rows()))
    lines = [
        "digraph migrations {",
        "  rankdir=TB;",
        '  graph [fontname="Helvetica"];',
        '  node [shape=box, style="rounded,filled", fillcolor="white", fontname="Helvetica"];',
        '  edge [color="#555555"];',
    ]
    for i, app in enumerate(view.apps):
        members = [n for n in order if n.app == app]
        if not members:
            continue
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    label="{_dot_text(app)}"; style="rounded"; color="#999999";')
        for n in members:
            attrs = [f'label="{_dot_text(_label(n, view.is_merge(n)))}"']
            if n.applied:
                attrs.append('fillcolor="#d4f4dd"')
            if n.branch:
                attrs.append('fillcolor="#fff3cd", style="rounded,filled,dashed"')
            lines.append(f"    {ids[n.id]} [{', '.join(attrs)}];")
        lines.append("  }")
    for n in order:
        for p in n.parents:
            if p not in ids:
                continue
            style = "" if view.nodes[p].app == n.app else " [style=dashed]"
            lines.append(f"  {ids[p]} -> {ids[n.id]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
