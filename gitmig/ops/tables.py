"""Operations on whole tables: create, drop, rename, and a table's own settings (its
comment, its dialect options, the schema it lives in).

A renamed table takes the foreign keys that point at it along. Options are set as a whole
(the table's options become exactly those given), so an option the models stop giving is
taken away, and the reverse is simply the options before. A table that moves to another
schema keeps its rows: it is moved, never dropped and created.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gitmig.errors import GitmigError
from gitmig.ops.base import (
    Operation,
    _require_table,
    _schema_kw,
    _TableOperation,
)
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Arg, Call, literal
from gitmig.schema.state import (
    SchemaState,
    Table,
    table_key,
)


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




class AlterTableOptions(_TableOperation):
    """Set the table's dialect options (mysql_engine=..., sqlite_autoincrement=...)."""

    def __init__(self, table: str, *, schema: str | None = None, **options: Any) -> None:
        self.table_name = table
        self.schema = schema
        self.options = canonical.index_options(options)

    @classmethod
    def of(
        cls, table: str, options: tuple[tuple[str, str], ...], *, schema: str | None = None
    ) -> AlterTableOptions:
        op = cls(table, schema=schema)
        op.options = options
        return op

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = _require_table(state, self.key, "cannot set the table's options")
        return state.with_table(table.evolve(options=self.options))

    def describe(self) -> str:
        what = ", ".join(f"{k}={v}" for k, v in self.options) or "none"
        return f"Set the options of table {self.key}: {what}"

    def fragment(self) -> str:
        return f"{self.table_name}_alter_options"

    def reverse(self, before: SchemaState) -> Operation:
        old = _require_table(before, self.key, "cannot undo the table's options").options
        return AlterTableOptions.of(self.table_name, old, schema=self.schema)

    def source(self) -> Call:
        call = _schema_kw(Call("ops.AlterTableOptions", [literal(self.table_name)]), self.schema)
        return serializer.options(call, self.options)


class SetTableSchema(Operation):
    """Move a table, rows and all, from one schema to another (None: the default one)."""

    def __init__(self, table: str, schema: str | None, new_schema: str | None) -> None:
        self.table_name = table
        self.schema = schema
        self.new_schema = new_schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        old_key = table_key(self.table_name, self.schema)
        new_key = table_key(self.table_name, self.new_schema)
        table = _require_table(state, old_key, "cannot move table")
        if new_key in state.tables:
            raise GitmigError(f"cannot move {old_key!r} to {new_key!r}: that table exists")
        state = state.without_table(old_key).with_table(table.evolve(schema=self.new_schema))
        return _retarget_foreign_keys(state, old_key, new_key)

    def describe(self) -> str:
        to = self.new_schema or "the default schema"
        return f"Move table {table_key(self.table_name, self.schema)} to {to}"

    def fragment(self) -> str:
        return f"move_{self.table_name}_to_{self.new_schema or 'default'}"

    def reverse(self, before: SchemaState) -> Operation:
        return SetTableSchema(self.table_name, self.new_schema, self.schema)

    def source(self) -> Call:
        return Call(
            "ops.SetTableSchema",
            [literal(self.table_name), literal(self.schema), literal(self.new_schema)],
        )

    def tables(self) -> set[str]:
        return {table_key(self.table_name, self.schema),
                table_key(self.table_name, self.new_schema)}
