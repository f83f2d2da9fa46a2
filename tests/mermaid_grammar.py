"""A small checker of the Mermaid subset gitmig writes: `flowchart` and `erDiagram`.

Written from Mermaid's documented grammar (not gitmig's code), strict where Mermaid is:
ids are words, labels are quoted and hold no bare double quote, every `subgraph` has its
`end`, an edge joins nodes that were declared, an entity's attribute is `type name [keys]
["comment"]` with a type Mermaid accepts. It returns what it parsed, so tests can also
assert the picture's content.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ID = r"[A-Za-z_][A-Za-z0-9_-]*"
QUOTED = r'"[^"\n]*"'


class MermaidError(AssertionError):
    pass


@dataclass
class Flowchart:
    direction: str
    nodes: dict[str, str] = field(default_factory=dict)  # id -> label
    groups: dict[str, list[str]] = field(default_factory=dict)  # subgraph label -> ids
    edges: list[tuple[str, str, str]] = field(default_factory=list)  # (from, arrow, to)
    classes: dict[str, set[str]] = field(default_factory=dict)  # class -> ids


def flowchart(text: str) -> Flowchart:
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not lines:
        raise MermaidError("empty diagram")
    head = re.fullmatch(r"(?:flowchart|graph) (TB|TD|BT|LR|RL)", lines[0][1])
    if head is None:
        raise MermaidError(f"line 1: not a flowchart header: {lines[0][1]!r}")
    chart = Flowchart(head.group(1))
    group: str | None = None
    defined_classes: set[str] = set()
    for number, line in lines[1:]:
        if m := re.fullmatch(rf"subgraph ({ID})\[({QUOTED})\]", line):
            if group is not None:
                raise MermaidError(f"line {number}: nested subgraph")
            group = m.group(2)[1:-1]
            chart.groups[group] = []
        elif line == "end":
            if group is None:
                raise MermaidError(f"line {number}: `end` without subgraph")
            group = None
        elif m := re.fullmatch(rf"({ID})\[({QUOTED})\]", line):
            if m.group(1) in chart.nodes:
                raise MermaidError(f"line {number}: node {m.group(1)} declared twice")
            chart.nodes[m.group(1)] = m.group(2)[1:-1]
            if group is not None:
                chart.groups[group].append(m.group(1))
        elif m := re.fullmatch(rf"({ID}) (-->|-\.->) ({ID})", line):
            for end in (m.group(1), m.group(3)):
                if end not in chart.nodes:
                    raise MermaidError(f"line {number}: edge to undeclared node {end}")
            chart.edges.append((m.group(1), m.group(2), m.group(3)))
        elif m := re.fullmatch(rf"classDef ({ID}) ([a-z-]+:[^ ,;]+(?:,[a-z-]+:[^ ,;]+)*)", line):
            defined_classes.add(m.group(1))
        elif m := re.fullmatch(rf"class ({ID}(?:,{ID})*) ({ID})", line):
            if m.group(2) not in defined_classes:
                raise MermaidError(f"line {number}: class {m.group(2)} not defined")
            chart.classes.setdefault(m.group(2), set()).update(m.group(1).split(","))
        else:
            raise MermaidError(f"line {number}: not flowchart syntax: {line!r}")
    if group is not None:
        raise MermaidError("subgraph without `end`")
    return chart


@dataclass
class ErDiagram:
    entities: dict[str, list[tuple[str, str, tuple[str, ...], str | None]]] = field(
        default_factory=dict)  # name -> (type, attribute, keys, comment)
    relations: list[tuple[str, str, str, str]] = field(default_factory=list)  # (a, card, b, label)


_TYPE = r"[A-Za-z][A-Za-z0-9_()\[\]-]*"
_KEYS = r"(?:PK|FK|UK)(?:\s*,\s*(?:PK|FK|UK))*"
_CARD_LEFT = r"(?:\|o|\|\||\}o|\}\|)"
_CARD_RIGHT = r"(?:o\||\|\||o\{|\|\{)"


def er_diagram(text: str) -> ErDiagram:
    lines = [(i + 1, line.strip()) for i, line in enumerate(text.splitlines()) if line.strip()]
    if not lines or lines[0][1] != "erDiagram":
        raise MermaidError("line 1: not `erDiagram`")
    diagram = ErDiagram()
    entity: str | None = None
    for number, line in lines[1:]:
        if entity is not None:
            if line == "}":
                entity = None
                continue
            m = re.fullmatch(rf"({_TYPE}) ({ID})(?: ({_KEYS}))?(?: ({QUOTED}))?", line)
            if m is None:
                raise MermaidError(f"line {number}: not an attribute: {line!r}")
            keys = tuple(k.strip() for k in m.group(3).split(",")) if m.group(3) else ()
            comment = m.group(4)[1:-1] if m.group(4) else None
            diagram.entities[entity].append((m.group(1), m.group(2), keys, comment))
        elif m := re.fullmatch(rf"({ID}) \{{", line):
            if m.group(1) in diagram.entities:
                raise MermaidError(f"line {number}: entity {m.group(1)} declared twice")
            entity = m.group(1)
            diagram.entities[entity] = []
        elif m := re.fullmatch(
                rf"({ID}) ({_CARD_LEFT}(?:--|\.\.){_CARD_RIGHT}) ({ID}) : ({QUOTED}|{ID})", line):
            diagram.relations.append((m.group(1), m.group(2), m.group(3), m.group(4).strip('"')))
        else:
            raise MermaidError(f"line {number}: not erDiagram syntax: {line!r}")
    if entity is not None:
        raise MermaidError(f"entity {entity} without its closing brace")
    return diagram
