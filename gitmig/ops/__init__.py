"""Operations: what a migration does to the schema, independent of any database.

Each operation changes a schema state, says what it does in one line, offers a fragment
for the migration's name, and can produce its reverse from the state before it. How an
operation runs on a particular database lives in gitmig.db.ddl, never here.

Migration files call these with SQLAlchemy objects (sa.Column, sa.UniqueConstraint...);
they are read into state at once, so a file and a model saying the same thing are equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import sqlalchemy as sa

from gitmig.errors import GitmigError
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Arg, Call, ListOf, literal
from gitmig.schema.state import (
    Check,
    Column,
    Constraint,
    ForeignKey,
    Index,
    SchemaState,
    ServerDefault,
    Table,
    Unique,
    constraint_identity,
    table_key,
)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class Operation:
    """One step of a migration."""

    destructive = False  # loses data when applied
    reversible = True

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    def fragment(self) -> str:
        """A piece of the migration's name, e.g. post_add_slug."""
        raise NotImplementedError

    def reverse(self, before: SchemaState) -> Operation:
        """The operation that undoes this one, given the state it was applied to."""
        raise NotImplementedError

    def source(self) -> Call:
        raise NotImplementedError

    def tables(self) -> set[str]:
        """Keys of the tables this operation touches (for conflict checks)."""
        return set()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Operation) or type(self) is not type(other):
            return False
        return self.source().flat() == other.source().flat()

    def __hash__(self) -> int:
        return hash(self.source().flat())

    def __repr__(self) -> str:
        return self.source().flat()


def _schema_kw(call: Call, schema: str | None) -> Call:
    if schema:
        call.kwargs.append(("schema", literal(schema)))
    return call


def _require_table(state: SchemaState, key: str, what: str) -> Table:
    table = state.get(key)
    if table is None:
        raise GitmigError(f"{what}: table {key!r} does not exist at this point of the history")
    return table


def _require_column(table: Table, name: str, what: str) -> Column:
    if not table.has_column(name):
        raise GitmigError(f"{what}: column {table.key}.{name} does not exist at this point")
    return table.column(name)


def _as_column(value: sa.Column[Any] | Column) -> tuple[Column, list[ForeignKey]]:
    if isinstance(value, Column):
        return value, []
    if not isinstance(value, sa.Column):
        raise GitmigError(f"expected sa.Column(...), got {value!r}")
    return canonical.column_state(value), canonical.column_foreign_keys(value)


class CreateTable(Operation):
    def __init__(
        self,
        name: str | Table,
        *items: Any,
        schema: str | None = None,
        comment: str | None = None,
        **options: Any,
    ) -> None:
        if isinstance(name, Table):
            self.table = name.evolve(app="")
        else:
            self.table = canonical.table_of(name, schema, items, comment, options)

    @property
    def key(self) -> str:
        return self.table.key

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        if self.key in state.tables:
            raise GitmigError(f"cannot create table {self.key!r}: it already exists")
        return state.with_table(self.table.evolve(app=app))

    def describe(self) -> str:
        return f"Create table {self.key}"

    def fragment(self) -> str:
        return f"create_{self.table.name}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropTable(self.table.name, schema=self.table.schema)

    def source(self) -> Call:
        t = self.table
        items: list[Arg] = [literal(t.name), *serializer.table_items(t)]
        call = _schema_kw(Call("ops.CreateTable", items), t.schema)
        if t.comment is not None:
            call.kwargs.append(("comment", literal(t.comment)))
        return serializer.options(call, t.options)

    def tables(self) -> set[str]:
        return {self.key}


class DropTable(Operation):
    destructive = True

    def __init__(self, name: str, *, schema: str | None = None) -> None:
        self.name = name
        self.schema = schema
        self.key = table_key(name, schema)

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        _require_table(state, self.key, "cannot drop table")
        return state.without_table(self.key)

    def describe(self) -> str:
        return f"Drop table {self.key}"

    def fragment(self) -> str:
        return f"drop_{self.name}"

    def reverse(self, before: SchemaState) -> Operation:
        return CreateTable(before.table(self.key))

    def source(self) -> Call:
        return _schema_kw(Call("ops.DropTable", [literal(self.name)]), self.schema)

    def tables(self) -> set[str]:
        return {self.key}


def _retarget_foreign_keys(state: SchemaState, old: str, new: str) -> SchemaState:
    for table in list(state.tables.values()):
        if any(fk.ref_table == old for fk in table.foreign_keys):
            fks = frozenset(
                replace(fk, ref_table=new)
                if fk.ref_table == old
                else fk
                for fk in table.foreign_keys
            )
            state = state.with_table(table.evolve(foreign_keys=fks))
    return state


class RenameTable(Operation):
    def __init__(self, old: str, new: str, *, schema: str | None = None) -> None:
        self.old = old
        self.new = new
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        old_key, new_key = table_key(self.old, self.schema), table_key(self.new, self.schema)
        table = _require_table(state, old_key, "cannot rename table")
        if new_key in state.tables:
            raise GitmigError(f"cannot rename {old_key!r} to {new_key!r}: that table exists")
        state = state.without_table(old_key).with_table(table.evolve(name=self.new))
        return _retarget_foreign_keys(state, old_key, new_key)

    def describe(self) -> str:
        return f"Rename table {table_key(self.old, self.schema)} to {self.new}"

    def fragment(self) -> str:
        return f"rename_{self.old}_to_{self.new}"

    def reverse(self, before: SchemaState) -> Operation:
        return RenameTable(self.new, self.old, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.RenameTable", [literal(self.old), literal(self.new)]), self.schema
        )

    def tables(self) -> set[str]:
        return {table_key(self.old, self.schema), table_key(self.new, self.schema)}


class _TableOperation(Operation):
    table_name: str
    schema: str | None

    @property
    def key(self) -> str:
        return table_key(self.table_name, self.schema)

    def tables(self) -> set[str]:
        return {self.key}


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


class CreateIndex(_TableOperation):
    def __init__(
        self,
        name: str,
        table: str,
        columns: Sequence[str],
        *,
        unique: bool = False,
        schema: str | None = None,
        **options: Any,
    ) -> None:
        cols = tuple(canonical.expression_sql(c) for c in columns)
        self.index = Index(name, cols, bool(unique), canonical.index_options(options))
        self.table_name = table
        self.schema = schema

    @classmethod
    def of(cls, table: str, ix: Index, *, schema: str | None = None) -> CreateIndex:
        op = cls(ix.name, table, ix.columns, unique=ix.unique, schema=schema)
        op.index = ix
        return op

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, f"cannot create index {self.index.name!r}")
        if any(ix.name == self.index.name for ix in table.indexes):
            raise GitmigError(f"cannot create index {self.index.name!r}: it exists")
        return state.with_table(table.evolve(indexes=table.indexes | {self.index}))

    def describe(self) -> str:
        kind = "unique index" if self.index.unique else "index"
        cols = ", ".join(self.index.columns)
        return f"Create {kind} {self.index.name} on {self.key} ({cols})"

    def fragment(self) -> str:
        return f"{self.table_name}_add_index_{'_'.join(self.index.columns)}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropIndex(self.index.name, self.table_name, schema=self.schema)

    def source(self) -> Call:
        call = Call(
            "ops.CreateIndex",
            [
                literal(self.index.name),
                literal(self.table_name),
                serializer.index_columns(self.index.columns),
            ],
        )
        if self.index.unique:
            call.kwargs.append(("unique", "True"))
        _schema_kw(call, self.schema)
        return serializer.index_options(call, self.index)


class DropIndex(_TableOperation):
    def __init__(self, name: str, table: str, *, schema: str | None = None) -> None:
        self.name = name
        self.table_name = table
        self.schema = schema

    def _find(self, state: SchemaState) -> tuple[Table, Index]:
        table = _require_table(state, self.key, f"cannot drop index {self.name!r}")
        for ix in table.indexes:
            if ix.name == self.name:
                return table, ix
        raise GitmigError(f"cannot drop index {self.name!r}: {self.key} has no such index")

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table, ix = self._find(state)
        return state.with_table(table.evolve(indexes=table.indexes - {ix}))

    def describe(self) -> str:
        return f"Drop index {self.name} on {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_drop_index_{self.name}"

    def reverse(self, before: SchemaState) -> Operation:
        _, ix = self._find(before)
        return CreateIndex.of(self.table_name, ix, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.DropIndex", [literal(self.name), literal(self.table_name)]), self.schema
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
    def __init__(self, table: str, constraint: Any, *, schema: str | None = None) -> None:
        self.table_name = table
        self.schema = schema
        self.constraint = _as_constraint(constraint)

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, "cannot add constraint")
        if table.find_constraint(constraint_identity(self.constraint)) is not None:
            raise GitmigError(f"cannot add constraint to {self.key}: an equal one exists")
        return state.with_table(table.with_constraint(self.constraint))

    def describe(self) -> str:
        c = self.constraint
        label = f" {c.name}" if c.name else ""
        on = f"({', '.join(c.columns)})" if not isinstance(c, Check) else f"({c.sqltext})"
        return f"Add {_KIND_WORDS[type(c)]}{label} on {self.key} {on}"

    def fragment(self) -> str:
        c = self.constraint
        kind = {ForeignKey: "fk", Unique: "unique", Check: "check"}[type(c)]
        what = c.name if c.name else "_".join(c.columns) if not isinstance(c, Check) else "check"
        return f"{self.table_name}_add_{kind}_{what}"

    def reverse(self, before: SchemaState) -> Operation:
        return DropConstraint.of(self.table_name, self.constraint, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call(
                "ops.AddConstraint",
                [literal(self.table_name), serializer.constraint(self.constraint)],
            ),
            self.schema,
        )


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


class AlterTableComment(_TableOperation):
    def __init__(self, table: str, comment: str | None, *, schema: str | None = None) -> None:
        self.table_name = table
        self.comment = comment
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, "cannot set the comment")
        return state.with_table(table.evolve(comment=self.comment))

    def describe(self) -> str:
        return f"Set the comment of table {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_alter_comment"

    def reverse(self, before: SchemaState) -> Operation:
        return AlterTableComment(self.table_name, before.table(self.key).comment,
                                 schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.AlterTableComment", [literal(self.table_name), literal(self.comment)]),
            self.schema,
        )


class RunSQL(Operation):
    """Raw SQL; without reverse_sql the migration cannot be unapplied."""

    def __init__(self, sql: str | Sequence[str], reverse_sql: str | Sequence[str] | None = None):
        self.sql = [sql] if isinstance(sql, str) else list(sql)
        self.reverse_sql = (
            None if reverse_sql is None else
            [reverse_sql] if isinstance(reverse_sql, str) else list(reverse_sql)
        )
        self.reversible = self.reverse_sql is not None

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        return state

    def describe(self) -> str:
        first = self.sql[0].strip().splitlines()[0] if self.sql and self.sql[0].strip() else ""
        return f"Run SQL: {first[:60]}"

    def fragment(self) -> str:
        return "run_sql"

    def reverse(self, before: SchemaState) -> Operation:
        if self.reverse_sql is None:
            raise GitmigError("RunSQL has no reverse_sql, so it cannot be unapplied")
        return RunSQL(self.reverse_sql, self.sql)

    def source(self) -> Call:
        call = Call("ops.RunSQL", [literal(self.sql if len(self.sql) > 1 else self.sql[0])])
        if self.reverse_sql is not None:
            rev = self.reverse_sql
            call.kwargs.append(("reverse_sql", literal(rev if len(rev) > 1 else rev[0])))
        return call


class RunPython(Operation):
    """Python code, given a SQLAlchemy Connection; without a reverse it cannot be unapplied."""

    def __init__(
        self,
        code: Callable[[Any], Any],
        reverse_code: Callable[[Any], Any] | None = None,
    ) -> None:
        if not callable(code):
            raise GitmigError(f"RunPython needs a function, got {code!r}")
        self.code = code
        self.reverse_code = reverse_code
        self.reversible = reverse_code is not None

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        return state

    def describe(self) -> str:
        return f"Run Python: {getattr(self.code, '__name__', 'code')}"

    def fragment(self) -> str:
        return getattr(self.code, "__name__", "run_python")

    def reverse(self, before: SchemaState) -> Operation:
        if self.reverse_code is None:
            raise GitmigError(
                f"RunPython {self.describe()[12:]} has no reverse, so it cannot be unapplied"
            )
        return RunPython(self.reverse_code, self.code)

    @staticmethod
    def noop(connection: Any) -> None:
        """A reverse for code that needs no undoing."""

    def source(self) -> Call:
        call = Call("ops.RunPython", [_function_source(self.code)])
        if self.reverse_code is not None:
            call.args.append(_function_source(self.reverse_code))
        return call


def _function_source(func: Callable[[Any], Any]) -> str:
    """How a migration file names a function: its own, or gitmig's noop."""
    if getattr(func, "__func__", func) is RunPython.noop:
        return "ops.RunPython.noop"
    return getattr(func, "__name__", "code")


def render_list(operations: Sequence[Operation]) -> str:
    """The `operations = [...]` value of a migration file."""
    return ListOf([op.source() for op in operations]).render(0)


# Operations of one family each live in their own module, re-exported here.
from gitmig.ops.constraints import (  # noqa: E402
    CreatePrimaryKey,
    DropPrimaryKey,
    RenameConstraint,
    RenameIndex,
)
from gitmig.ops.enums import AlterEnum  # noqa: E402
from gitmig.ops.tables import AlterTableOptions, SetTableSchema  # noqa: E402

__all__ = [
    "Operation",
    "CreateTable",
    "DropTable",
    "RenameTable",
    "AddColumn",
    "DropColumn",
    "AlterColumn",
    "RenameColumn",
    "CreateIndex",
    "DropIndex",
    "AddConstraint",
    "DropConstraint",
    "AlterTableComment",
    "CreatePrimaryKey",
    "DropPrimaryKey",
    "RenameConstraint",
    "RenameIndex",
    "AlterEnum",
    "AlterTableOptions",
    "SetTableSchema",
    "RunSQL",
    "RunPython",
    "UNSET",
]

from gitmig.ops.moves import MoveTableIn as MoveTableIn, MoveTableOut as MoveTableOut, StateOnly as StateOnly  # noqa: E402, E501, I001
