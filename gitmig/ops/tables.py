"""A table's own settings: its dialect options, and the schema it lives in.

Options are set as a whole (the table's options become exactly those given), so an option
the models stop giving is taken away, and the reverse is simply the options before.
A table that moves to another schema keeps its rows: it is moved, never dropped and
created.
"""

from __future__ import annotations

from typing import Any

from gitmig.errors import GitmigError
from gitmig.ops import (
    Operation,
    _require_table,
    _retarget_foreign_keys,
    _schema_kw,
    _TableOperation,
)
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import SchemaState, table_key


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
