"""Random model evolutions that also need the user's answers: renames and row values.

tests/strategies.py keeps to what every database accepts, for the database round trips;
this one covers the rest of what makemigrations must express (renames given with --rename,
values with --default, multi-column and unique indexes, checks, comments, schemas,
ondelete changes), each step paired with the command-line answers it needs.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import strategies as st

TABLE_NAMES = ["author", "post", "tag", "note", "shelf"]
COLUMN_NAMES = ["title", "body", "score", "price", "rank", "code", "flag", "day", "kind"]
TYPES = {
    "int": "sa.Integer()",
    "bigint": "sa.BigInteger()",
    "str": "sa.String(40)",
    "longstr": "sa.String(200)",
    "text": "sa.Text()",
    "bool": "sa.Boolean()",
    "num": "sa.Numeric(8, 2)",
    "date": "sa.Date()",
    "enum": 'sa.Enum("low", "high", name="{table}_{column}")',
}
# A value for existing rows, as --default takes it and as a model default.
VALUES = {"int": ("3", "3"), "bigint": ("4", "4"), "str": ("n/a", '"n/a"'),
          "longstr": ("x y", '"x y"'), "text": ("t", '"t"'), "bool": ("False", "False"),
          "num": ("1.5", "1.5"), "date": ("2024-01-01", None), "enum": ("low", '"low"')}
SERVER_DEFAULTS = {"int": ['"0"', 'sa.text("1")'], "str": ['"x"'], "bool": ["sa.false()"]}


@dataclass
class Col:
    name: str
    kind: str
    nullable: bool = True
    server_default: str | None = None
    model_default: str | None = None
    comment: str | None = None
    fk: str | None = None  # referenced table
    ondelete: str | None = None

    def source(self, table: str) -> str:
        type_ = TYPES[self.kind].format(table=table, column=self.name)
        args = [f'"{self.name}"', type_]
        if self.fk:
            ondelete = f', ondelete="{self.ondelete}"' if self.ondelete else ""
            args.append(f'sa.ForeignKey("{self.fk}.id"{ondelete})')
        args.append(f"nullable={self.nullable}")
        if self.server_default:
            args.append(f"server_default={self.server_default}")
        if self.model_default:
            args.append(f"default={self.model_default}")
        if self.comment:
            args.append(f'comment="{self.comment}"')
        return f"sa.Column({', '.join(args)})"


@dataclass
class Tab:
    name: str
    schema: str | None = None
    comment: str | None = None
    columns: list[Col] = field(default_factory=list)
    indexes: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)
    uniques: list[tuple[str, ...]] = field(default_factory=list)  # unnamed
    checks: dict[str, str] = field(default_factory=dict)

    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def source(self) -> str:
        items = ['sa.Column("id", sa.Integer(), primary_key=True)']
        items += [c.source(self.name) for c in self.columns]
        items += [f"sa.UniqueConstraint({', '.join(repr(c) for c in cols)})"
                  for cols in self.uniques]
        items += [f'sa.CheckConstraint("{sql}", name="{name}")'
                  for name, sql in sorted(self.checks.items())]
        items += [
            f'sa.Index("{name}", {", ".join(repr(c) for c in cols)}, unique={unique})'
            for name, (cols, unique) in sorted(self.indexes.items())
        ]
        if self.schema:
            items.append(f'schema="{self.schema}"')
        if self.comment:
            items.append(f'comment="{self.comment}"')
        body = "".join(f"    {item},\n" for item in items)
        return f'{self.name}_table = sa.Table(\n    "{self.name}",\n    Base.metadata,\n{body})\n'


@dataclass
class Models:
    tables: dict[str, Tab] = field(default_factory=dict)

    def render(self) -> str:
        head = ("import sqlalchemy as sa\nfrom sqlalchemy.orm import DeclarativeBase\n\n\n"
                "class Base(DeclarativeBase):\n    pass\n")
        return head + "".join("\n\n" + t.source() for t in self.tables.values())

    def referenced(self, name: str) -> bool:
        return any(c.fk == name for t in self.tables.values() for c in t.columns)


@dataclass
class Step:
    models: Models
    args: list[str]
    renames: list[str] = field(default_factory=list)  # describe() lines a rename must give


def _new_column(
    draw: st.DrawFn, models: Models, table: Tab, existing: bool
) -> tuple[Col, list[str]]:
    name = draw(st.sampled_from([c for c in COLUMN_NAMES if c not in table.names()]))
    others = [t.name for t in models.tables.values() if t.name != table.name and not t.schema]
    if others and not table.schema and draw(st.integers(0, 3)) == 0:
        target = draw(st.sampled_from(others))
        if f"{target}_id" not in table.names():
            ondelete = draw(st.sampled_from([None, "CASCADE", "SET NULL"]))
            return Col(f"{target}_id", "int", fk=target, ondelete=ondelete), []
    kind = draw(st.sampled_from(sorted(TYPES)))
    col = Col(name, kind, nullable=draw(st.booleans()),
              comment=draw(st.sampled_from([None, "about " + name])))
    if kind in SERVER_DEFAULTS and draw(st.booleans()):
        col.server_default = draw(st.sampled_from(SERVER_DEFAULTS[kind]))
    args: list[str] = []
    if existing and not col.nullable and not col.server_default:
        raw, model = VALUES[kind]
        if model is not None and draw(st.booleans()):
            col.model_default = model
        else:
            args = ["--default", f"{table.name}.{name}={raw}"]
    return col, args


@st.composite
def _new_table(draw: st.DrawFn, models: Models) -> Tab:
    name = draw(st.sampled_from([t for t in TABLE_NAMES if t not in models.tables]))
    table = Tab(name, schema=draw(st.sampled_from([None, None, "audit"])),
                comment=draw(st.sampled_from([None, f"the {name}s"])))
    for _ in range(draw(st.integers(0, 3))):
        col, _args = _new_column(draw, models, table, existing=False)
        table.columns.append(col)
    return table


def _forget_column(table: Tab, name: str) -> None:
    table.columns = [c for c in table.columns if c.name != name]
    table.indexes = {n: ix for n, ix in table.indexes.items() if name not in ix[0]}
    table.uniques = [u for u in table.uniques if name not in u]


def _rename_column(table: Tab, old: str, new: str) -> None:
    for c in table.columns:
        if c.name == old:
            c.name = new

    def swap(cols: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(new if c == old else c for c in cols)

    table.indexes = {n: (swap(cols), u) for n, (cols, u) in table.indexes.items()}
    table.uniques = [swap(u) for u in table.uniques]


@st.composite
def step(draw: st.DrawFn, models: Models) -> Step:
    models = copy.deepcopy(models)
    actions = ["add_table"] if len(models.tables) < len(TABLE_NAMES) else []
    if models.tables:
        actions += ["drop_table", "rename_table", "table_comment", "add_column", "add_column",
                    "drop_column", "rename_column", "alter_column", "alter_column", "add_index",
                    "drop_index", "add_unique", "add_check", "drop_check", "ondelete"]
    action = draw(st.sampled_from(actions))
    if action == "add_table":
        table = draw(_new_table(models))
        models.tables[table.name] = table
        return Step(models, [])
    table = models.tables[draw(st.sampled_from(sorted(models.tables)))]
    cols = table.columns
    if action == "drop_table" and not models.referenced(table.name):
        del models.tables[table.name]
    elif action == "rename_table":
        new = draw(st.sampled_from([t for t in TABLE_NAMES if t not in models.tables]
                                   or [table.name]))
        if new != table.name:
            old = table.name
            del models.tables[old]
            table.name = new
            for other in models.tables.values():  # foreign keys follow the table
                for c in other.columns:
                    if c.fk == old:
                        c.fk = new
            for c in table.columns:  # enum type names follow the table in the model
                if c.kind == "enum":
                    c.kind = "str"
            models.tables[new] = table
            key = f"{table.schema}.{old}" if table.schema else old
            return Step(models, ["--rename", f"{old}={new}"],
                        [f"Rename table {key} to {new}"])
    elif action == "table_comment":
        table.comment = draw(st.sampled_from([None, "first", "second"]))
    elif action == "add_column" and len(cols) < len(COLUMN_NAMES):
        col, args = _new_column(draw, models, table, existing=True)
        table.columns.append(col)
        return Step(models, args)
    elif action == "drop_column" and cols:
        _forget_column(table, draw(st.sampled_from(cols)).name)
    elif action == "rename_column" and cols:
        col = draw(st.sampled_from(cols))
        free = [c for c in COLUMN_NAMES if c not in table.names()]
        if free and col.kind != "enum":
            new = draw(st.sampled_from(free))
            old = col.name
            _rename_column(table, old, new)
            key = f"{table.schema}.{table.name}" if table.schema else table.name
            return Step(models, ["--rename", f"{table.name}.{old}={new}"],
                        [f"Rename column {key}.{old} to {new}"])
    elif action == "alter_column" and cols:
        col = draw(st.sampled_from([c for c in cols if not c.fk] or cols))
        if col.fk:
            return Step(models, [])
        what = draw(st.sampled_from(["type", "nullable", "server_default", "comment"]))
        if what == "type":
            col.kind = draw(st.sampled_from(sorted(TYPES)))
            col.server_default = None
            col.model_default = None
            col.nullable = True
        elif what == "nullable":
            col.nullable = not col.nullable
        elif what == "server_default" and col.kind in SERVER_DEFAULTS:
            col.server_default = draw(st.sampled_from([None, *SERVER_DEFAULTS[col.kind]]))
        else:
            col.comment = draw(st.sampled_from([None, "one", "two"]))
    elif action == "add_index" and cols:
        chosen = draw(st.lists(st.sampled_from(table.names()), min_size=1, max_size=3,
                               unique=True))
        name = f"ix_{table.name}_{'_'.join(chosen)}"
        if name not in table.indexes:
            table.indexes[name] = (tuple(chosen), draw(st.booleans()))
    elif action == "drop_index" and table.indexes:
        del table.indexes[draw(st.sampled_from(sorted(table.indexes)))]
    elif action == "add_unique" and cols:
        chosen = tuple(draw(st.lists(st.sampled_from(table.names()), min_size=1, max_size=2,
                                     unique=True)))
        if chosen not in table.uniques:
            table.uniques.append(chosen)
    elif action == "add_check":
        n = draw(st.integers(0, 9))
        table.checks[f"ck_{table.name}_{n}"] = f"id > {n}"
    elif action == "drop_check" and table.checks:
        del table.checks[draw(st.sampled_from(sorted(table.checks)))]
    elif action == "ondelete":
        fks = [c for c in cols if c.fk]
        if fks:
            col = draw(st.sampled_from(fks))
            col.ondelete = draw(st.sampled_from([None, "CASCADE", "SET NULL", "RESTRICT"]))
    return Step(models, [])


@st.composite
def evolutions_with_answers(draw: st.DrawFn, max_steps: int = 6) -> list[Step]:
    models = Models()
    first = draw(_new_table(models))
    models.tables[first.name] = first
    steps = [Step(models, [])]
    for _ in range(draw(st.integers(1, max_steps - 1))):
        steps.append(draw(step(steps[-1].models)))
    return steps
