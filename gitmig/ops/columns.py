"""Operations on columns: add, drop, alter and rename."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from gitmig.errors import GitmigError
from gitmig.ops.base import (
    UNSET,
    Operation,
    _as_column,
    _require_column,
    _require_table,
    _schema_kw,
    _TableOperation,
)
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import (
    Column,
    ForeignKey,
    SchemaState,
    ServerDefault,
)


class AddColumn(_TableOperation):
    """Add a column; `backfill` is the one-off value given to rows that already exist."""

    def __init__(
        self,
        table: str,
        column: sa.Column[Any] | Column,
        *,
        schema: str | None = None,
        backfill: Any = UNSET,
        foreign_keys: Sequence[ForeignKey] = (),
    ) -> None:
        self.table_name = table
        self.schema = schema
        self.column, fks = _as_column(column)
        if isinstance(column, sa.Column) and canonical.column_checks(column):
            raise GitmigError(
                f"AddColumn {table}.{self.column.name}: a check inside the column is not "
                "added with it; add it after the column with "
                f"ops.AddConstraint({table!r}, sa.CheckConstraint(...), "
                f"column={self.column.name!r}), as makemigrations writes it"
            )
        self.foreign_keys = tuple(foreign_keys) or tuple(fks)
        self.backfill = backfill

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot add column {self.column.name!r}")
        if table.has_column(self.column.name):
            raise GitmigError(f"cannot add column {self.key}.{self.column.name}: it exists")
        table = table.evolve(columns=table.columns + (self.column,))
        for fk in self.foreign_keys:
            table = table.with_constraint(fk)
        return state.with_table(table)

    def describe(self) -> str:
        return f"Add column {self.column.name} to {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_add_{self.column.name}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropColumn(self.table_name, self.column.name, schema=self.schema)

    def source(self) -> Call:
        call = Call(
            "ops.AddColumn",
            [literal(self.table_name), serializer.column(self.column, self.foreign_keys)],
        )
        _schema_kw(call, self.schema)
        if self.backfill is not UNSET:
            call.kwargs.append(("backfill", literal(self.backfill)))
        return call


class DropColumn(_TableOperation):
    destructive = True

    def __init__(self, table: str, column: str, *, schema: str | None = None) -> None:
        self.table_name = table
        self.column_name = column
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot drop column {self.column_name!r}")
        _require_column(table, self.column_name, "cannot drop column")
        name = self.column_name
        table = table.evolve(
            columns=tuple(c for c in table.columns if c.name != name),
            foreign_keys=frozenset(fk for fk in table.foreign_keys if name not in fk.columns),
            uniques=frozenset(u for u in table.uniques if name not in u.columns),
            indexes=frozenset(ix for ix in table.indexes if name not in ix.columns),
            checks=frozenset(c for c in table.checks if c.column != name),
        )
        return state.with_table(table)

    def describe(self) -> str:
        return f"Drop column {self.column_name} from {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_drop_{self.column_name}"

    def reverse(self, before: SchemaState) -> Operation:
        table = before.table(self.key)
        col = table.column(self.column_name)
        fks = [fk for fk in table.foreign_keys if fk.columns == (col.name,)]
        # Multi-column constraints and indexes on the column go with it; the reverse
        # recreates the column and its single-column foreign keys.
        return AddColumn(self.table_name, col, schema=self.schema, foreign_keys=fks)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.DropColumn", [literal(self.table_name), literal(self.column_name)]),
            self.schema,
        )


class AlterColumn(_TableOperation):
    """Change a column's type, nullability, server default or comment; UNSET leaves one be."""

    def __init__(
        self,
        table: str,
        column: str,
        *,
        type_: Any = UNSET,
        nullable: Any = UNSET,
        server_default: Any = UNSET,
        comment: Any = UNSET,
        autoincrement: Any = UNSET,
        identity: Any = UNSET,
        sequence: Any = UNSET,
        schema: str | None = None,
        backfill: Any = UNSET,
    ) -> None:
        self.table_name = table
        self.column_name = column
        self.schema = schema
        if type_ is not UNSET and not isinstance(type_, str):
            type_ = canonical.type_source(type_)
        self.type_ = type_
        self.nullable = nullable
        if server_default is not UNSET and server_default is not None:
            if not isinstance(server_default, ServerDefault):
                server_default = canonical.server_default_of(
                    sa.Column("x", sa.Integer(), server_default=server_default)
                )
        self.server_default = server_default
        self.comment = comment
        self.autoincrement = autoincrement
        if isinstance(identity, sa.Identity):
            identity = canonical.identity_of(sa.Column("x", sa.Integer(), identity))
        self.identity = identity
        if isinstance(sequence, sa.Sequence):
            sequence = canonical.sequence_of(sa.Column("x", sa.Integer(), sequence))
        self.sequence = sequence
        self.backfill = backfill

    def changes(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in {
                "type": self.type_,
                "nullable": self.nullable,
                "server_default": self.server_default,
                "comment": self.comment,
                "autoincrement": self.autoincrement,
                "identity": self.identity,
                "sequence": self.sequence,
            }.items()
            if v is not UNSET
        }

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot alter column {self.column_name!r}")
        col = _require_column(table, self.column_name, "cannot alter column")
        new = replace(col, **self.changes())
        cols = tuple(new if c.name == col.name else c for c in table.columns)
        return state.with_table(table.evolve(columns=cols))

    def describe(self) -> str:
        what = ", ".join(_change_words(k, v) for k, v in self.changes().items())
        return f"Alter column {self.key}.{self.column_name}: {what}"

    def fragment(self) -> str:
        return f"{self.table_name}_alter_{self.column_name}"

    def reverse(self, before: SchemaState) -> Operation:
        col = before.table(self.key).column(self.column_name)
        old = {k: getattr(col, k) for k in self.changes()}
        return AlterColumn(
            self.table_name,
            self.column_name,
            schema=self.schema,
            type_=old.get("type", UNSET),
            nullable=old.get("nullable", UNSET),
            server_default=old.get("server_default", UNSET),
            comment=old.get("comment", UNSET),
            autoincrement=old.get("autoincrement", UNSET),
            identity=old.get("identity", UNSET),
            sequence=old.get("sequence", UNSET),
        )

    def source(self) -> Call:
        call = Call("ops.AlterColumn", [literal(self.table_name), literal(self.column_name)])
        if self.type_ is not UNSET:
            call.kwargs.append(("type_", serializer.expression(self.type_)))
        if self.nullable is not UNSET:
            call.kwargs.append(("nullable", repr(self.nullable)))
        if self.server_default is not UNSET:
            call.kwargs.append(("server_default", serializer.server_default(self.server_default)))
        if self.comment is not UNSET:
            call.kwargs.append(("comment", literal(self.comment)))
        if self.autoincrement is not UNSET:
            call.kwargs.append(("autoincrement", repr(self.autoincrement)))
        if self.identity is not UNSET:
            call.kwargs.append(("identity", serializer.identity(self.identity)))
        if self.sequence is not UNSET:
            call.kwargs.append(("sequence", serializer.sequence(self.sequence)))
        if self.backfill is not UNSET:
            call.kwargs.append(("backfill", literal(self.backfill)))
        return _schema_kw(call, self.schema)


def _change_words(key: str, value: Any) -> str:
    if key == "nullable":
        return "NULL allowed" if value else "NOT NULL"
    if key == "server_default":
        return "server default " + (value.text if value is not None else "removed")
    if key == "type":
        return f"type {value}"
    if key == "sequence":
        return "sequence removed" if value is None else f"sequence {value.name}"
    if key == "identity":
        return "identity removed" if value is None else "identity " + serializer.flat(
            serializer.identity(value)
        )
    return f"{key} {value!r}"


class RenameColumn(_TableOperation):
    def __init__(self, table: str, old: str, new: str, *, schema: str | None = None) -> None:
        self.table_name = table
        self.old = old
        self.new = new
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot rename column {self.old!r}")
        col = _require_column(table, self.old, "cannot rename column")
        if table.has_column(self.new):
            raise GitmigError(f"cannot rename {self.key}.{self.old}: {self.new!r} exists")
        def swap(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(self.new if n == self.old else n for n in names)

        table = table.evolve(
            columns=tuple(replace(col, name=self.new) if c is col else c for c in table.columns),
            foreign_keys=frozenset(
                replace(fk, columns=swap(fk.columns))
                for fk in table.foreign_keys
            ),
            uniques=frozenset(replace(u, columns=swap(u.columns)) for u in table.uniques),
            indexes=frozenset(replace(ix, columns=swap(ix.columns)) for ix in table.indexes),
            checks=frozenset(replace(c, column=self.new) if c.column == self.old else c
                             for c in table.checks),
        )
        state = state.with_table(table)
        # Foreign keys elsewhere that point at the renamed column follow it.
        for other in list(state.tables.values()):
            if any(fk.ref_table == self.key and self.old in fk.ref_columns
                   for fk in other.foreign_keys):
                fks = frozenset(
                    replace(fk, ref_columns=swap(fk.ref_columns))
                    if fk.ref_table == self.key else fk
                    for fk in other.foreign_keys
                )
                state = state.with_table(other.evolve(foreign_keys=fks))
        return state

    def describe(self) -> str:
        return f"Rename column {self.key}.{self.old} to {self.new}"

    def fragment(self) -> str:
        return f"{self.table_name}_rename_{self.old}_to_{self.new}"

    def reverse(self, before: SchemaState) -> Operation:
        return RenameColumn(self.table_name, self.new, self.old, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call(
                "ops.RenameColumn",
                [literal(self.table_name), literal(self.old), literal(self.new)],
            ),
            self.schema,
        )
