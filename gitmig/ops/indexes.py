"""Operations on indexes: create and drop (renaming is in ops.constraints)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gitmig.errors import GitmigError
from gitmig.ops.base import (
    Operation,
    _require_table,
    _schema_kw,
    _TableOperation,
)
from gitmig.schema import canonical, serializer
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import (
    Index,
    SchemaState,
    Table,
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
        concurrently: bool = False,
        **options: Any,
    ) -> None:
        cols = tuple(canonical.expression_sql(c) for c in columns)
        self.index = Index(name, cols, bool(unique), canonical.index_options(options))
        self.table_name = table
        self.schema = schema
        # PostgreSQL builds it without blocking writes, outside the migration's transaction;
        # the other databases ignore it. Not part of the schema: the index is the same.
        self.concurrently = bool(concurrently)

    @classmethod
    def of(cls, table: str, ix: Index, *, schema: str | None = None,
           concurrently: bool = False) -> CreateIndex:
        op = cls(ix.name, table, ix.columns, unique=ix.unique, schema=schema,
                 concurrently=concurrently)
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
        return DropIndex(self.index.name, self.table_name, schema=self.schema,
                         concurrently=self.concurrently)

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
        serializer.index_options(call, self.index)
        if self.concurrently:
            call.kwargs.append(("concurrently", "True"))
        return call


class DropIndex(_TableOperation):
    def __init__(self, name: str, table: str, *, schema: str | None = None,
                 concurrently: bool = False) -> None:
        self.name = name
        self.table_name = table
        self.schema = schema
        self.concurrently = bool(concurrently)  # as CreateIndex's

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
        return CreateIndex.of(self.table_name, ix, schema=self.schema,
                              concurrently=self.concurrently)

    def source(self) -> Call:
        call = _schema_kw(
            Call("ops.DropIndex", [literal(self.name), literal(self.table_name)]), self.schema
        )
        if self.concurrently:
            call.kwargs.append(("concurrently", "True"))
        return call
