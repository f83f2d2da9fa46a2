"""A table moving from one app to another: a pair of operations that change only the state.

The table stays in the database with its rows; what changes is which app's migrations
describe it. The old app's migration hands the table over (MoveTableOut leaves its
state), the new app's migration takes it in (MoveTableIn brings the full definition into
its state) and depends on the old one, as Django does with state-only operations. Each
is the other's reverse, so either migration can be unapplied. No SQL runs for either.
"""

from __future__ import annotations

from typing import Any

from gitmig.errors import GitmigError
from gitmig.ops.base import Operation
from gitmig.ops.tables import CreateTable
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import SchemaState, Table, table_key


class StateOnly(Operation):
    """An operation that runs no SQL: the database already is what the state says."""


class MoveTableOut(StateOnly):
    """The running app gives `name` to `to_app`; it leaves this app's state."""

    def __init__(self, name: str, *, to_app: str, schema: str | None = None) -> None:
        self.name = name
        self.to_app = to_app
        self.schema = schema
        self.key = table_key(name, schema)

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        table = state.get(self.key)
        if table is None:
            raise GitmigError(f"cannot move table {self.key!r}: it does not exist at this point")
        if table.app != app:
            raise GitmigError(
                f"cannot move table {self.key!r} out of app {app!r}: it is app {table.app!r}'s"
            )
        return state.without_table(self.key)

    def describe(self) -> str:
        return f"Move table {self.key} to app {self.to_app!r} (state only: no SQL, rows kept)"

    def fragment(self) -> str:
        return f"move_{self.name}_to_{self.to_app}"

    def reverse(self, before: SchemaState) -> Operation:
        return MoveTableIn(before.table(self.key), from_app=self.to_app)

    def source(self) -> Call:
        call = Call("ops.MoveTableOut", [literal(self.name)], [("to_app", literal(self.to_app))])
        if self.schema:
            call.kwargs.append(("schema", literal(self.schema)))
        return call

    def tables(self) -> set[str]:
        return {self.key}


class MoveTableIn(StateOnly):
    """The running app takes `name` from `from_app`, with its whole definition.

    Written like ops.CreateTable (columns, constraints, indexes), so the new app's
    history reads on its own; but the table already exists and nothing is created.
    """

    def __init__(
        self,
        name: str | Table,
        *items: Any,
        from_app: str,
        schema: str | None = None,
        comment: str | None = None,
    ) -> None:
        self.table = CreateTable(name, *items, schema=schema, comment=comment).table
        self.from_app = from_app

    @property
    def key(self) -> str:
        return self.table.key

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        existing = state.get(self.key)
        if existing is not None:
            raise GitmigError(
                f"cannot move table {self.key!r} into app {app!r}: app {existing.app!r} still "
                f"has it; its migration with ops.MoveTableOut must come first (a parent)"
            )
        return state.with_table(self.table.evolve(app=app))

    def describe(self) -> str:
        return f"Move table {self.key} from app {self.from_app!r} (state only: no SQL, rows kept)"

    def fragment(self) -> str:
        return f"move_{self.table.name}_from_{self.from_app}"

    def reverse(self, before: SchemaState) -> Operation:
        return MoveTableOut(self.table.name, to_app=self.from_app, schema=self.table.schema)

    def source(self) -> Call:
        call = CreateTable(self.table).source()
        call.func = "ops.MoveTableIn"
        call.kwargs.insert(0, ("from_app", literal(self.from_app)))
        return call

    def tables(self) -> set[str]:
        return {self.key}
