"""Keys and constraints: foreign keys, unique and check constraints added and dropped,
primary keys, and renamed constraints and indexes.

A primary key is a property of the table, not of one column: when the models move it to
other columns, the key is dropped and created again as a whole, so no step of a migration
leaves a table that a database would accept without a key while the models say it has one.
A constraint or index whose only change is its name (a naming convention added or changed)
is renamed, never dropped and created, so a large table is not re-indexed for a name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from gitmig.errors import GitmigError
from gitmig.ops.base import (
    Operation,
    _require_column,
    _require_table,
    _schema_kw,
    _TableOperation,
)
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Arg, Call, literal
from gitmig.schema.state import (
    Check,
    Constraint,
    ForeignKey,
    SchemaState,
    Table,
    Unique,
    constraint_identity,
)


def _as_constraint(value: Any) -> Constraint:
    if isinstance(value, (ForeignKey, Unique, Check)):
        return value
    if isinstance(value, (sa.UniqueConstraint, sa.CheckConstraint, sa.ForeignKeyConstraint)):
        # Constraints need a table to know their columns; read them through one.
        cols = set()
        for expr in getattr(value, "_pending_colargs", []) or []:
            cols.add(expr if isinstance(expr, str) else expr.name)
        if isinstance(value, sa.ForeignKeyConstraint):
            cols |= set(value.column_keys)
        t = sa.Table("t", sa.MetaData(), *(sa.Column(c, sa.Integer()) for c in sorted(cols)))
        t.append_constraint(value)
        if isinstance(value, sa.ForeignKeyConstraint):
            return canonical.foreign_key_state(value)
        if isinstance(value, sa.UniqueConstraint):
            return canonical.unique_state(value)
        return canonical.check_state(value)
    raise GitmigError(
        "expected a sa.UniqueConstraint, CheckConstraint or ForeignKeyConstraint, "
        f"got {value!r}"
    )


_KIND_WORDS = {ForeignKey: "foreign key", Unique: "unique constraint", Check: "check constraint"}


class AddConstraint(_TableOperation):
    """Add a constraint; `validate=False` adds a foreign key or check NOT VALID on
    PostgreSQL (rows already there are not checked, so no long lock), to be checked later
    by ValidateConstraint. The other databases always check. `column`: a check declared on
    that column, written inside its definition."""

    def __init__(self, table: str, constraint: Any, *, schema: str | None = None,
                 validate: bool = True, column: str | None = None) -> None:
        self.table_name = table
        self.schema = schema
        self.constraint = _as_constraint(constraint)
        self.validate = bool(validate)
        if not self.validate and isinstance(self.constraint, Unique):
            raise GitmigError(
                f"AddConstraint on {table!r}: a unique constraint cannot be added NOT VALID; "
                "build a unique index with ops.CreateIndex(..., unique=True, concurrently=True)"
            )
        if column is not None:
            if not isinstance(self.constraint, Check):
                raise GitmigError(f"AddConstraint on {table!r}: only a check constraint "
                                  "can be given a column")
            self.constraint = replace(self.constraint, column=column)

    def state_forwards_column(self, table: Table) -> None:
        c = self.constraint
        if isinstance(c, Check) and c.column is not None:
            _require_column(table, c.column, "cannot add check constraint")

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, "cannot add constraint")
        self.state_forwards_column(table)
        if table.find_constraint(constraint_identity(self.constraint)) is not None:
            raise GitmigError(f"cannot add constraint to {self.key}: an equal one exists")
        return state.with_table(table.with_constraint(self.constraint))

    def describe(self) -> str:
        c = self.constraint
        label = f" {c.name}" if c.name else ""
        on = f"({', '.join(c.columns)})" if not isinstance(c, Check) else f"({c.sqltext})"
        later = "" if self.validate else " NOT VALID"
        return f"Add {_KIND_WORDS[type(c)]}{label} on {self.key} {on}{later}"

    def fragment(self) -> str:
        c = self.constraint
        kind = {ForeignKey: "fk", Unique: "unique", Check: "check"}[type(c)]
        what = c.name if c.name else "_".join(c.columns) if not isinstance(c, Check) else "check"
        return f"{self.table_name}_add_{kind}_{what}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropConstraint.of(self.table_name, self.constraint, schema=self.schema)

    def source(self) -> Call:
        call = _schema_kw(
            Call(
                "ops.AddConstraint",
                [literal(self.table_name), serializer.constraint(self.constraint)],
                _column_kw(self.constraint),
            ),
            self.schema,
        )
        if not self.validate:
            call.kwargs.append(("validate", "False"))
        return call


def _column_kw(c: Constraint) -> list[tuple[str, Arg]]:
    return [("column", literal(c.column))] if isinstance(c, Check) and c.column else []


class DropConstraint(_TableOperation):
    """Drop a constraint by name; an unnamed one is found by its kind and columns."""

    def __init__(
        self,
        table: str,
        name: str | None = None,
        *,
        type_: str,
        columns: Sequence[str] | None = None,
        sqltext: str | None = None,
        schema: str | None = None,
    ) -> None:
        if type_ not in ("foreignkey", "unique", "check"):
            raise GitmigError(
                f"DropConstraint type_ must be foreignkey, unique or check, not {type_!r}"
            )
        if name is None and columns is None and sqltext is None:
            raise GitmigError("DropConstraint needs a name, or columns for an unnamed constraint")
        self.table_name = table
        self.name = name
        self.type_ = type_
        self.columns = tuple(columns) if columns is not None else None
        self.sqltext = sqltext
        self.schema = schema

    @classmethod
    def of(cls, table: str, c: Constraint, *, schema: str | None = None) -> DropConstraint:
        kind = {ForeignKey: "foreignkey", Unique: "unique", Check: "check"}[type(c)]
        if c.name:
            return cls(table, c.name, type_=kind, schema=schema)
        if isinstance(c, Check):
            return cls(table, type_=kind, sqltext=c.sqltext, schema=schema)
        return cls(table, type_=kind, columns=c.columns, schema=schema)

    def identity(self) -> tuple[str, ...]:
        if self.name:
            return ("name", self.name)
        if self.type_ == "check":
            return ("check", self.sqltext or "")
        return (self.type_, *(self.columns or ()))

    def find(self, state: SchemaState) -> Constraint:
        table = _require_table(state, self.key, "cannot drop constraint")
        found = table.find_constraint(self.identity())
        if found is None:
            raise GitmigError(f"cannot drop constraint {self._label()} on {self.key}: not found")
        return found

    def _label(self) -> str:
        return self.name or f"{self.type_}({', '.join(self.columns or ()) or self.sqltext})"

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        self.find(state)
        table = state.table(self.key)
        return state.with_table(table.without_constraint(self.identity()))

    def describe(self) -> str:
        return f"Drop constraint {self._label()} on {self.key}"

    def fragment(self) -> str:
        what = self.name or "_".join(self.columns or ()) or "check"
        return f"{self.table_name}_drop_{self.type_}_{what}"

    def reverse(self, before: SchemaState) -> Operation:
        return AddConstraint(self.table_name, self.find(before), schema=self.schema)

    def source(self) -> Call:
        call = Call("ops.DropConstraint", [literal(self.table_name)])
        if self.name:
            call.args.append(literal(self.name))
        call.kwargs.append(("type_", literal(self.type_)))
        if self.columns is not None and not self.name:
            call.kwargs.append(("columns", serializer.names(self.columns)))
        if self.sqltext is not None and not self.name:
            call.kwargs.append(("sqltext", literal(self.sqltext)))
        return _schema_kw(call, self.schema)




CONSTRAINT_TYPES = ("primary", "foreignkey", "unique", "check")
_KIND = {ForeignKey: "foreignkey", Unique: "unique", Check: "check"}


class CreatePrimaryKey(_TableOperation):
    """Make `columns` the table's primary key; the table must have none at this point."""

    def __init__(
        self,
        table: str,
        columns: Sequence[str],
        *,
        name: str | None = None,
        schema: str | None = None,
    ) -> None:
        if not columns:
            raise GitmigError(f"CreatePrimaryKey on {table!r} needs at least one column")
        self.table_name = table
        self.columns = tuple(columns)
        self.name = name
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, "cannot create the primary key")
        if table.primary_key:
            raise GitmigError(
                f"cannot create the primary key of {self.key}: it has one on "
                f"({', '.join(table.primary_key)}); drop it first with ops.DropPrimaryKey"
            )
        for c in self.columns:
            _require_column(table, c, "cannot create the primary key")
        cols = tuple(
            replace(c, primary_key=True, nullable=False) if c.name in self.columns else c
            for c in table.columns
        )
        return state.with_table(table.evolve(columns=cols, pk_name=self.name))

    def describe(self) -> str:
        label = f" {self.name}" if self.name else ""
        return f"Create primary key{label} on {self.key} ({', '.join(self.columns)})"

    def fragment(self) -> str:
        return f"{self.table_name}_add_primary_key_{'_'.join(self.columns)}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropPrimaryKey(self.table_name, schema=self.schema)

    def source(self) -> Call:
        call = Call(
            "ops.CreatePrimaryKey", [literal(self.table_name), serializer.names(self.columns)]
        )
        if self.name:
            call.kwargs.append(("name", literal(self.name)))
        return _schema_kw(call, self.schema)


class DropPrimaryKey(_TableOperation):
    """Drop the table's primary key; its columns stay, NOT NULL."""

    def __init__(self, table: str, *, schema: str | None = None) -> None:
        self.table_name = table
        self.schema = schema

    def _table(self, state: SchemaState) -> Table:
        table = _require_table(state, self.key, "cannot drop the primary key")
        if not table.primary_key:
            raise GitmigError(f"cannot drop the primary key of {self.key}: it has none")
        return table

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = self._table(state)
        cols = tuple(replace(c, primary_key=False) for c in table.columns)
        return state.with_table(table.evolve(columns=cols, pk_name=None))

    def describe(self) -> str:
        return f"Drop the primary key of {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_drop_primary_key"

    def reverse(self, before: SchemaState) -> Operation:
        table = self._table(before)
        return CreatePrimaryKey(
            self.table_name, table.primary_key, name=table.pk_name, schema=self.schema
        )

    def source(self) -> Call:
        return _schema_kw(Call("ops.DropPrimaryKey", [literal(self.table_name)]), self.schema)


class RenameConstraint(_TableOperation):
    """Give a constraint another name (None: the name the database chooses).

    An unnamed constraint is found by its kind and columns (or its check text), as
    DropConstraint finds it; a primary key needs neither, a table has one.
    """

    def __init__(
        self,
        table: str,
        old: str | None,
        new: str | None,
        *,
        type_: str,
        columns: Sequence[str] | None = None,
        sqltext: str | None = None,
        schema: str | None = None,
    ) -> None:
        if type_ not in CONSTRAINT_TYPES:
            raise GitmigError(
                f"RenameConstraint type_ must be one of {', '.join(CONSTRAINT_TYPES)}, "
                f"not {type_!r}"
            )
        if old is None and type_ != "primary" and columns is None and sqltext is None:
            raise GitmigError(
                "RenameConstraint of an unnamed constraint needs its columns (or sqltext)"
            )
        self.table_name = table
        self.old = old
        self.new = new
        self.type_ = type_
        self.columns = tuple(columns) if columns is not None else None
        self.sqltext = sqltext
        self.schema = schema

    @classmethod
    def of(
        cls, table: Table, c: Constraint | None, new: str | None
    ) -> RenameConstraint:
        """Rename constraint `c` (None: the primary key) of `table`."""
        if c is None:
            return cls(table.name, table.pk_name, new, type_="primary", schema=table.schema)
        kind = _KIND[type(c)]
        if c.name:
            return cls(table.name, c.name, new, type_=kind, schema=table.schema)
        if isinstance(c, Check):
            return cls(table.name, None, new, type_=kind, sqltext=c.sqltext,
                       schema=table.schema)
        return cls(table.name, None, new, type_=kind, columns=c.columns, schema=table.schema)

    def _identity(self) -> tuple[str, ...]:
        if self.old:
            return ("name", self.old)
        if self.type_ == "check":
            return ("check", self.sqltext or "")
        return (self.type_, *(self.columns or ()))

    def find(self, state: SchemaState) -> tuple[Table, Constraint | None]:
        """The table and the constraint (None for the primary key) being renamed."""
        table = _require_table(state, self.key, "cannot rename constraint")
        if self.type_ == "primary":
            if not table.primary_key:
                raise GitmigError(f"cannot rename the primary key of {self.key}: it has none")
            if table.pk_name != self.old:
                raise GitmigError(
                    f"cannot rename the primary key of {self.key}: it is named "
                    f"{table.pk_name!r}, not {self.old!r}"
                )
            return table, None
        found = table.find_constraint(self._identity())
        if found is None or _KIND[type(found)] != self.type_:
            raise GitmigError(f"cannot rename constraint {self._label()} on {self.key}: "
                              "not found")
        return table, found

    def _label(self) -> str:
        if self.old:
            return self.old
        return f"{self.type_}({', '.join(self.columns or ()) or self.sqltext or ''})"

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table, c = self.find(state)
        if c is None:
            return state.with_table(table.evolve(pk_name=self.new))
        renamed = replace(c, name=self.new)
        if table.find_constraint(constraint_identity(renamed)) is not None:
            raise GitmigError(f"cannot rename {self._label()} on {self.key} to {self.new!r}: "
                              "that name is taken")
        return state.with_table(
            table.without_constraint(constraint_identity(c)).with_constraint(renamed)
        )

    def describe(self) -> str:
        what = "primary key" if self.type_ == "primary" else f"constraint {self._label()}"
        if self.type_ == "primary" and self.old:
            what = f"primary key {self.old}"
        to = self.new or "the name the database chooses"
        return f"Rename {what} on {self.key} to {to}"

    def fragment(self) -> str:
        if self.new:
            return f"{self.table_name}_rename_{self.new}"
        return f"{self.table_name}_unname_{self.old}"

    def reverse(self, before: SchemaState) -> Operation:
        table, c = self.find(before)
        after_state = self.state_forwards(before, "")
        return RenameConstraint.of(
            after_state.table(self.key),
            None if c is None else replace(c, name=self.new),
            self.old,
        )

    def source(self) -> Call:
        call = Call(
            "ops.RenameConstraint",
            [literal(self.table_name), literal(self.old), literal(self.new)],
            [("type_", literal(self.type_))],
        )
        if self.old is None and self.columns is not None:
            call.kwargs.append(("columns", serializer.names(self.columns)))
        if self.old is None and self.sqltext is not None:
            call.kwargs.append(("sqltext", literal(self.sqltext)))
        return _schema_kw(call, self.schema)


class RenameIndex(_TableOperation):
    def __init__(self, table: str, old: str, new: str, *, schema: str | None = None) -> None:
        self.table_name = table
        self.old = old
        self.new = new
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot rename index {self.old!r}")
        found = next((ix for ix in table.indexes if ix.name == self.old), None)
        if found is None:
            raise GitmigError(f"cannot rename index {self.old!r}: {self.key} has no such index")
        if any(ix.name == self.new for ix in table.indexes):
            raise GitmigError(f"cannot rename index {self.old!r} to {self.new!r}: it exists")
        indexes = (table.indexes - {found}) | {replace(found, name=self.new)}
        return state.with_table(table.evolve(indexes=indexes))

    def describe(self) -> str:
        return f"Rename index {self.old} on {self.key} to {self.new}"

    def fragment(self) -> str:
        return f"{self.table_name}_rename_{self.new}"

    def reverse(self, before: SchemaState) -> Operation:
        return RenameIndex(self.table_name, self.new, self.old, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.RenameIndex",
                 [literal(self.table_name), literal(self.old), literal(self.new)]),
            self.schema,
        )
