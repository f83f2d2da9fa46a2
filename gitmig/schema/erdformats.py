"""An entity-relationship diagram as text: boxes for a terminal, Mermaid, Graphviz.

All three show the same Diagram (gitmig.schema.erd): a box per table with its columns
(keys, name, short type, `null` where it may be NULL), grouped by app, and an arrow per
foreign key from the table holding it to the table it refers to. Marks from
`gitmig diff --erd` show as `+`, `-` and `~` in the terminal, as colours in dot and as
comments in Mermaid (whose erDiagram has no colours for an attribute).
"""

from __future__ import annotations

import re
from html import escape

from gitmig.schema.erd import ADDED, CHANGED, DROPPED, Attribute, Diagram, Entity

STYLE = {ADDED: "green", DROPPED: "red", CHANGED: "yellow"}
WORD = {ADDED: "added", DROPPED: "dropped", CHANGED: "changed"}

# -- terminal ------------------------------------------------------------------------------


def text(diagram: Diagram) -> list[tuple[str, str | None]]:
    """Lines of (text, rich style): each app's tables as boxes, then the relationships."""
    lines: list[tuple[str, str | None]] = []
    for app in diagram.apps():
        lines.append((app or "(no app)", "bold"))
        for e in diagram.entities:
            if e.app == app:
                lines += _box(e)
        lines.append(("", None))
    if diagram.relations:
        lines.append(("Relationships", "bold"))
        for r in diagram.relations:
            mark = f"{r.mark} " if r.mark else "  "
            kind = "one to one" if r.one_to_one else "many to one"
            kind += ", optional" if r.optional else ""
            lines.append((f"{mark}{_end(r.child, r.columns)} -> "
                          f"{_end(r.parent, r.ref_columns)}  ({kind})", STYLE.get(r.mark or "")))
    while lines and lines[-1] == ("", None):
        lines.pop()
    return lines


def _end(table: str, columns: tuple[str, ...]) -> str:
    return f"{table}.{columns[0]}" if len(columns) == 1 else f"{table}({', '.join(columns)})"


def _box(e: Entity) -> list[tuple[str, str | None]]:
    rows = [(a, [",".join(a.keys), a.name, a.type, "null" if a.nullable else ""])
            for a in e.attributes]
    widths = [max((len(r[1][i]) for r in rows), default=0) for i in range(4)]
    cells = []
    for a, parts in rows:
        line = " ".join(p.ljust(w) for p, w in zip(parts, widths, strict=True)).rstrip()
        cells.append((a, f"{a.mark or ' '} {line}"))
    title = f"{e.mark} {e.key}" if e.mark else e.key
    inner = max([len(c) for _, c in cells] + [len(title) + 3])
    style = STYLE.get(e.mark or "")
    out: list[tuple[str, str | None]] = [
        (f"+- {title} " + "-" * (inner - len(title) - 2) + "+", style)]
    for a, cell in cells:
        out.append((f"|{cell.ljust(inner)} |", STYLE.get(a.mark or "", style)))
    out.append(("+" + "-" * (inner + 1) + "+", style))
    return out


# -- Mermaid -------------------------------------------------------------------------------

_MERMAID_TYPE = re.compile(r"[^A-Za-z0-9_()\[\]-]")


def mermaid(diagram: Diagram) -> str:
    """A Mermaid `erDiagram`."""
    lines = ["erDiagram"]
    for e in diagram.entities:
        lines.append(f"  {_mermaid_id(e.key)} {{")
        for a in e.attributes:
            lines.append(f"    {_mermaid_attribute(a)}")
        lines.append("  }")
    for r in diagram.relations:
        parent = "|o" if r.optional else "||"
        child = "o|" if r.one_to_one else "o{"
        label = r.label + (f" ({WORD[r.mark]})" if r.mark else "")
        lines.append(f"  {_mermaid_id(r.parent)} {parent}--{child} {_mermaid_id(r.child)} : "
                     f'"{_mermaid_comment(label)}"')
    return "\n".join(lines) + "\n"


def _mermaid_id(key: str) -> str:
    """Entity names are words in Mermaid: a schema's dot becomes two underscores."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key.replace(".", "__"))


def _mermaid_attribute(a: Attribute) -> str:
    token = _MERMAID_TYPE.sub("", a.type) if "," not in a.type else a.type.split("(", 1)[0]
    token = _MERMAID_TYPE.sub("", token) or "type"
    if not token[0].isalpha():
        token = "t" + token
    notes = []
    if token != a.type:
        notes.append(a.type)
    if a.nullable:
        notes.append("null")
    if a.mark:
        notes.append(WORD[a.mark])
    line = f"{token} {_mermaid_id(a.name)}"
    if a.keys:
        line += " " + ", ".join(a.keys)
    if notes:
        line += f' "{_mermaid_comment(", ".join(notes))}"'
    return line


def _mermaid_comment(text: str) -> str:
    return text.replace('"', "'")


# -- Graphviz ------------------------------------------------------------------------------

_FILL = {ADDED: "#d4f4dd", DROPPED: "#f8d7da", CHANGED: "#fff3cd"}
_LINE = {ADDED: "#2e7d32", DROPPED: "#c62828", CHANGED: "#b7791f"}


def dot(diagram: Diagram) -> str:
    """A Graphviz digraph of HTML-like tables, one cluster per app (`dot -Tsvg`)."""
    ids = {e.key: f"t{i}" for i, e in enumerate(diagram.entities)}
    ports = {(e.key, a.name): j for e in diagram.entities
             for j, a in enumerate(e.attributes)}
    lines = [
        "digraph schema {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", nodesep=0.4, ranksep=0.9];',
        '  node [shape=plaintext, fontname="Helvetica", fontsize=11];',
        '  edge [color="#555555", arrowhead=tee, dir=both];',
    ]
    for i, app in enumerate(diagram.apps()):
        lines.append(f"  subgraph cluster_{i} {{")
        lines.append(f'    label="{_dot_string(app)}"; style="rounded"; color="#999999";')
        for e in diagram.entities:
            if e.app == app:
                lines.append(f"    {ids[e.key]} [label=<{_dot_table(e)}>];")
        lines.append("  }")
    for r in diagram.relations:
        # Out of the key column's right edge, into the referred column's left edge.
        child = f"{ids[r.child]}:r{ports.get((r.child, r.columns[0]), 0)}:e"
        parent = f"{ids[r.parent]}:l{ports.get((r.parent, r.ref_columns[0]), 0)}:w"
        attrs = [f'tooltip="{_dot_string(r.label)}"',
                 "arrowtail=tee" if r.one_to_one else "arrowtail=crow"]
        if r.optional:
            attrs.append("style=dashed")
        if r.mark:
            attrs.append(f'color="{_LINE[r.mark]}"')
        lines.append(f"  {child} -> {parent} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_table(e: Entity) -> str:
    head = _FILL.get(e.mark or "", "#dde7f3")
    title = escape(e.key) + (f" ({WORD[e.mark]})" if e.mark else "")
    rows = [f'<tr><td colspan="3" bgcolor="{head}"><b>{title}</b></td></tr>']
    for j, a in enumerate(e.attributes):
        fill = f' bgcolor="{_FILL[a.mark]}"' if a.mark else ""
        name = escape(a.name)
        if a.mark == DROPPED:
            name = f"<s>{name}</s>"
        elif a.nullable:
            name = f"<i>{name}</i>"
        rows.append(
            f'<tr><td align="left" port="l{j}"{fill}>{escape(",".join(a.keys))}</td>'
            f'<td align="left"{fill}>{name}</td>'
            f'<td align="left" port="r{j}"{fill}>{escape(a.type)}</td></tr>'
        )
    return ('<table border="0" cellborder="1" cellspacing="0" cellpadding="4">'
            + "".join(rows) + "</table>")


def _dot_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
