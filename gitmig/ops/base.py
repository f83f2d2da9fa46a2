"""The base of every operation: Operation, _TableOperation and the helpers they share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from gitmig.errors import GitmigError
from gitmig.schema import canonical
from gitmig.schema.serializer import Call, ListOf, literal
from gitmig.schema.state import (
    Column,
    ForeignKey,
    SchemaState,
    Table,
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


class _TableOperation(Operation):
    table_name: str
    schema: str | None

    @property
    def key(self) -> str:
        return table_key(self.table_name, self.schema)

    def tables(self) -> set[str]:
        return {self.key}




def render_list(operations: Sequence[Operation]) -> str:
    """The `operations = [...]` value of a migration file."""
    return ListOf([op.source() for op in operations]).render(0)
