"""Hypothesis strategies for random model evolutions.

A model is described as plain data (a `Spec`) so that steps can be drawn as small edits
of the previous one, then rendered as the source of a `blog/models.py` that mixes mapped
classes and plain Table objects on one declarative Base. Every choice keeps to what
SQLite, PostgreSQL and MariaDB all accept (VARCHAR lengths, no indexed TEXT, type
changes within one family), because the same evolutions drive the database round trips.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import strategies as st

TABLES = ["author", "post", "tag", "comment", "category", "invoice"]
COLUMNS = ["title", "body", "score", "price", "rank", "note", "code", "flag", "created"]

# kind -> the type's source; alterations stay within a family (see ALTER_TO).
TYPES = {
    "int": "sa.Integer()",
    "bigint": "sa.BigInteger()",
    "str20": "sa.String(length=20)",
    "str80": "sa.String(length=80)",
    "text": "sa.Text()",
    "bool": "sa.Boolean()",
    "num": "sa.Numeric(precision=10, scale=2)",
    "date": "sa.Date()",
    "datetime": "sa.DateTime()",
    "enum": "enum",
}
ALTER_TO = {
    "int": ["bigint"],
    "bigint": ["int"],
    "str20": ["str80", "text"],
    "str80": ["str20", "text"],
}
INDEXABLE = {"int", "bigint", "str20", "str80", "date", "datetime", "num"}
DEFAULTS = {"int": ["0", "7"], "bigint": ["1"], "str20": ["x", "draft"], "str80": ["hello"]}


@dataclass
class ColSpec:
    name: str
    kind: str
    nullable: bool = True
    server_default: str | None = None
    python_default: int | str | None = None
    fk: str | None = None  # referenced table (its id)
    fk_named: bool = False
    ondelete: str | None = None

    def source(self, table: str) -> str:
        type_ = TYPES[self.kind]
        if self.kind == "enum":
            type_ = f'sa.Enum("low", "high", name="{table}_{self.name}_level")'
        args = [f'"{self.name}"', type_]
        if self.fk:
            fk_args = [f'"{self.fk}.id"']
            if self.fk_named:
                fk_args.append(f'name="fk_{table}_{self.name}"')
            if self.ondelete:
                fk_args.append(f'ondelete="{self.ondelete}"')
            args.append(f"sa.ForeignKey({', '.join(fk_args)})")
        args.append(f"nullable={self.nullable}")
        if self.server_default is not None:
            args.append(f'server_default="{self.server_default}"')
        if self.python_default is not None:
            args.append(f"default={self.python_default!r}")
        return f"sa.Column({', '.join(args)})"


@dataclass
class TableSpec:
    name: str
    columns: list[ColSpec] = field(default_factory=list)
    indexes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> columns
    uniques: dict[str, tuple[str, ...]] = field(default_factory=dict)
    as_class: bool = True

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass
class Spec:
    tables: dict[str, TableSpec] = field(default_factory=dict)

    def referenced(self, table: str) -> bool:
        return any(
            c.fk == table for t in self.tables.values() if t.name != table for c in t.columns
        )

    def render(self) -> str:
        lines = [
            "import sqlalchemy as sa",
            "from sqlalchemy.orm import DeclarativeBase",
            "",
            "",
            "class Base(DeclarativeBase):",
            "    pass",
            "",
        ]
        for i, t in enumerate(self.tables.values()):
            items = ['sa.Column("id", sa.Integer(), primary_key=True)']
            items += [c.source(t.name) for c in t.columns]
            items += [
                f'sa.UniqueConstraint({", ".join(repr(c) for c in cols)}, name="{name}")'
                for name, cols in sorted(t.uniques.items())
            ]
            items += [
                f'sa.Index("{name}", {", ".join(repr(c) for c in cols)})'
                for name, cols in sorted(t.indexes.items())
            ]
            body = "".join(f"    {item},\n" for item in items)
            table = f'sa.Table(\n    "{t.name}",\n    Base.metadata,\n{body})'
            if t.as_class:
                indented = table.replace("\n", "\n    ")
                lines += ["", f"class Model{i}(Base):", f"    __table__ = {indented}", ""]
            else:
                lines += ["", f"{t.name}_table = {table}", ""]
        return "\n".join(lines) + "\n"


@st.composite
def columns(draw: st.DrawFn, taken: list[str], others: list[str], existing: bool) -> ColSpec:
    """A new column; on an existing table a NOT NULL one gets a default for its rows."""
    name = draw(st.sampled_from([c for c in COLUMNS if c not in taken]))
    if others and draw(st.integers(0, 4)) == 0:
        target = draw(st.sampled_from(others))
        ondelete = draw(st.sampled_from([None, "CASCADE", "SET NULL"]))
        return ColSpec(
            name=f"{target}_id",
            kind="int",
            nullable=True,
            fk=target,
            fk_named=draw(st.booleans()),
            ondelete=ondelete,
        )
    kind = draw(st.sampled_from(sorted(TYPES)))
    nullable = draw(st.booleans())
    col = ColSpec(name=name, kind=kind, nullable=nullable)
    if kind in DEFAULTS and draw(st.booleans()):
        col.server_default = draw(st.sampled_from(DEFAULTS[kind]))
    if existing and not nullable and col.server_default is None:
        col.python_default = {"bool": False, "enum": "low", "date": None, "datetime": None,
                              "num": 0, "text": "", "int": 0, "bigint": 0}.get(kind, "x")
        if col.python_default is None:
            col.nullable = True
    return col


@st.composite
def new_table(draw: st.DrawFn, spec: Spec) -> TableSpec:
    name = draw(st.sampled_from([t for t in TABLES if t not in spec.tables]))
    t = TableSpec(name=name, as_class=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        if len(t.columns) >= len(COLUMNS):
            break
        col = draw(columns(t.column_names(), sorted(spec.tables), existing=False))
        if col.name not in t.column_names():
            t.columns.append(col)
    return t


def _drop_column(t: TableSpec, name: str) -> None:
    t.columns = [c for c in t.columns if c.name != name]
    t.indexes = {n: cols for n, cols in t.indexes.items() if name not in cols}
    t.uniques = {n: cols for n, cols in t.uniques.items() if name not in cols}


@st.composite
def step(draw: st.DrawFn, spec: Spec) -> Spec:
    """One small random edit of the models."""
    spec = copy.deepcopy(spec)
    choices = ["add_table"] if len(spec.tables) < len(TABLES) else []
    if spec.tables:
        choices += ["add_column", "drop_column", "alter_column", "add_index", "drop_index",
                    "add_unique", "drop_table"]
    action = draw(st.sampled_from(choices))
    if action == "add_table":
        t = draw(new_table(spec))
        spec.tables[t.name] = t
        return spec
    name = draw(st.sampled_from(sorted(spec.tables)))
    t = spec.tables[name]
    if action == "drop_table":
        if not spec.referenced(name):
            del spec.tables[name]
        return spec
    if action == "add_column":
        if len(t.columns) < len(COLUMNS):
            others = sorted(n for n in spec.tables if n != name)
            col = draw(columns(t.column_names(), others, existing=True))
            if col.name not in t.column_names():
                t.columns.append(col)
        return spec
    if not t.columns:
        return spec
    col = draw(st.sampled_from(t.columns))
    if action == "drop_column":
        _drop_column(t, col.name)
    elif action == "alter_column":
        what = draw(st.sampled_from(["type", "nullable", "server_default"]))
        if what == "type" and col.kind in ALTER_TO and not col.fk:
            new_kind = draw(st.sampled_from(ALTER_TO[col.kind]))
            if new_kind not in INDEXABLE and (
                any(col.name in c for c in t.indexes.values())
                or any(col.name in c for c in t.uniques.values())
            ):
                return spec
            col.kind = new_kind
            if col.server_default is not None and new_kind not in DEFAULTS:
                col.server_default = None
                col.nullable = True
        elif what == "nullable" and not col.fk:
            col.nullable = not col.nullable
            if not col.nullable and col.server_default is None and col.kind in DEFAULTS:
                col.server_default = DEFAULTS[col.kind][0]
        elif what == "server_default" and col.kind in DEFAULTS:
            options = [None, *DEFAULTS[col.kind]]
            col.server_default = draw(st.sampled_from(options))
            if col.server_default is None:
                col.nullable = True
    elif action in ("add_index", "add_unique") and col.kind in INDEXABLE:
        prefix = "ix" if action == "add_index" else "uq"
        target = t.indexes if action == "add_index" else t.uniques
        ix_name = f"{prefix}_{t.name}_{col.name}"
        if ix_name not in t.indexes and ix_name not in t.uniques:
            target[ix_name] = (col.name,)
    elif action == "drop_index" and t.indexes:
        del t.indexes[draw(st.sampled_from(sorted(t.indexes)))]
    return spec


@st.composite
def evolution_specs(draw: st.DrawFn, min_steps: int = 2, max_steps: int = 5) -> list[Spec]:
    spec = Spec()
    first = draw(new_table(spec))
    spec.tables[first.name] = first
    specs = [spec]
    for _ in range(draw(st.integers(min_steps - 1, max_steps - 1))):
        spec = draw(step(spec))
        specs.append(spec)
    return specs


def evolutions(min_steps: int = 2, max_steps: int = 5) -> st.SearchStrategy[list[str]]:
    """Lists of models.py sources for app `blog`, each a small edit of the one before."""
    return evolution_specs(min_steps, max_steps).map(lambda specs: [s.render() for s in specs])
