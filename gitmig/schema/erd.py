"""A schema state as an entity-relationship diagram: tables, their columns, foreign keys.

Pure: made from one state (what `gitmig erd` draws) or from two (what `gitmig diff --erd`
draws, each table and column marked added, dropped or changed). The renderers in
gitmig.schema.erdformats only lay this out; what a column shows (its short type, its
keys) is decided here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from gitmig.schema.state import Column, ForeignKey, SchemaState, Table

ADDED = "+"
DROPPED = "-"
CHANGED = "~"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str  # short: String(200), Numeric(10, 2), Enum(order_status)
    keys: tuple[str, ...]  # of "PK", "FK", "UK"
    nullable: bool
    mark: str | None = None


@dataclass(frozen=True)
class Entity:
    key: str  # table_key: `name` or `schema.name`
    app: str
    attributes: tuple[Attribute, ...]
    mark: str | None = None


@dataclass(frozen=True)
class Relation:
    """`child.columns` refer to `parent.ref_columns`: many children to one parent."""

    child: str
    columns: tuple[str, ...]
    parent: str
    ref_columns: tuple[str, ...]
    optional: bool  # a nullable key: a child may have no parent
    one_to_one: bool  # the key columns are unique in the child
    mark: str | None = None

    @property
    def label(self) -> str:
        return ", ".join(self.columns)


@dataclass
class Diagram:
    entities: list[Entity] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)

    def apps(self) -> list[str]:
        return list(dict.fromkeys(e.app for e in self.entities))


def of_state(state: SchemaState, apps: list[str] | None = None) -> Diagram:
    """Every table (of `apps`, in their order, when given) and every foreign key between
    tables shown; a key to a table left out is kept as an attribute marked FK."""
    tables = _ordered(state, apps)
    shown = {t.key for t in tables}
    return Diagram(
        [Entity(t.key, t.app, tuple(_attribute(t, c) for c in t.columns)) for t in tables],
        [r for t in tables for r in _relations(t) if r.parent in shown],
    )


def between(old: SchemaState, new: SchemaState, apps: list[str] | None = None) -> Diagram:
    """The new schema with what changed marked, and what was dropped kept (marked) where it
    was. A rename shows as a drop and an add: nothing is guessed."""
    before = {t.key: t for t in _ordered(old, apps)}
    after = _ordered(new, apps)
    keys = {t.key for t in after}
    entities: list[Entity] = []
    relations: list[Relation] = []
    for t in after:
        was = before.get(t.key)
        if was is None:
            entities.append(Entity(t.key, t.app, tuple(
                _attribute(t, c, ADDED) for c in t.columns), ADDED))
            relations += [_marked(r, ADDED) for r in _relations(t)]
            continue
        attrs = []
        for c in t.columns:
            mark = None
            if not was.has_column(c.name):
                mark = ADDED
            elif _attribute(was, was.column(c.name)) != _attribute(t, c) or \
                    was.column(c.name) != c:
                mark = CHANGED
            attrs.append(_attribute(t, c, mark))
        attrs += [_attribute(was, c, DROPPED) for c in was.columns if not t.has_column(c.name)]
        entities.append(Entity(t.key, t.app, tuple(attrs), CHANGED if was != t else None))
        old_rel, new_rel = set(_relations(was)), set(_relations(t))
        relations += [r if r in old_rel else _marked(r, ADDED) for r in _relations(t)]
        relations += [_marked(r, DROPPED) for r in _relations(was) if r not in new_rel]
    for key, was in before.items():
        if key not in keys:
            entities.append(Entity(key, was.app, tuple(
                _attribute(was, c, DROPPED) for c in was.columns), DROPPED))
            relations += [_marked(r, DROPPED) for r in _relations(was)]
    shown = {e.key for e in entities}
    return Diagram(entities, [r for r in relations if r.parent in shown])


def _ordered(state: SchemaState, apps: list[str] | None) -> list[Table]:
    tables = sorted(state.tables.values(), key=lambda t: t.key)
    if apps is None:
        return tables
    rank = {a: i for i, a in enumerate(apps)}
    return sorted((t for t in tables if t.app in rank), key=lambda t: (rank[t.app], t.key))


def _marked(r: Relation, mark: str) -> Relation:
    return Relation(r.child, r.columns, r.parent, r.ref_columns, r.optional, r.one_to_one,
                    mark)


def _relations(t: Table) -> list[Relation]:
    uniques = _unique_sets(t)
    out = []
    for fk in sorted(t.foreign_keys, key=_fk_order):
        optional = any(t.column(c).nullable for c in fk.columns if t.has_column(c))
        out.append(Relation(t.key, fk.columns, fk.ref_table, fk.ref_columns, optional,
                            frozenset(fk.columns) in uniques))
    return out


def _fk_order(fk: ForeignKey) -> tuple[str, ...]:
    return (*fk.columns, fk.ref_table)


def _unique_sets(t: Table) -> set[frozenset[str]]:
    sets = {frozenset(u.columns) for u in t.uniques}
    sets |= {frozenset(i.columns) for i in t.indexes if i.unique}
    if t.primary_key:
        sets.add(frozenset(t.primary_key))
    return sets


def _attribute(t: Table, c: Column, mark: str | None = None) -> Attribute:
    keys = []
    if c.primary_key:
        keys.append("PK")
    if any(c.name in fk.columns for fk in t.foreign_keys):
        keys.append("FK")
    if frozenset([c.name]) in {frozenset(u.columns) for u in t.uniques} | {
            frozenset(i.columns) for i in t.indexes if i.unique}:
        keys.append("UK")
    return Attribute(c.name, short_type(c.type), tuple(keys), c.nullable, mark)


_PREFIX = re.compile(r"\b(?:sa|sqlalchemy|postgresql|mysql|sqlite|sa\.dialects\.\w+)\.")
_KEYWORD = re.compile(r"\b(?:length|precision|scale)=")


def short_type(source: str) -> str:
    """The type as a reader names it: `sa.String(length=200)` is String(200); a type with
    per-database variants shows its common one; an Enum its name (or its values)."""
    text = source.split(".with_variant(", 1)[0]
    text = _PREFIX.sub("", text)
    enum = re.match(r"Enum\((.*)\)$", text)
    if enum:
        name = re.search(r"name=['\"]([^'\"]+)['\"]", enum.group(1))
        if name:
            return f"Enum({name.group(1)})"
    text = _KEYWORD.sub("", text)
    text = text.replace("()", "")
    return text if len(text) <= 40 else text[:37] + "..."
