"""ValidateConstraint: the second half of a constraint added with validate=False.

PostgreSQL checks the rows already there under a lock that lets reads and writes go on
(SHARE UPDATE EXCLUSIVE), which is why the check is split from adding the constraint.
Undoing it changes nothing in the database: the constraint stays, checked.
"""

from __future__ import annotations

from gitmig.errors import GitmigError
from gitmig.ops.base import Operation, _require_table, _schema_kw, _TableOperation
from gitmig.ops.moves import StateOnly
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import Check, Constraint, ForeignKey, SchemaState


class ValidateConstraint(_TableOperation):
    """Check the existing rows against foreign key or check constraint `name`."""

    def __init__(self, table: str, name: str, *, schema: str | None = None) -> None:
        if not name:
            raise GitmigError(f"ValidateConstraint on {table!r} needs the constraint's name")
        self.table_name = table
        self.name = name
        self.schema = schema

    def find(self, state: SchemaState) -> Constraint:
        table = _require_table(state, self.key, f"cannot validate constraint {self.name!r}")
        found = table.find_constraint(("name", self.name))
        if not isinstance(found, (ForeignKey, Check)):
            raise GitmigError(f"cannot validate constraint {self.name!r}: {self.key} has no "
                              "foreign key or check constraint of that name")
        return found

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        self.find(state)
        return state

    def describe(self) -> str:
        return f"Validate constraint {self.name} on {self.key}"

    def fragment(self) -> str:
        return f"{self.table_name}_validate_{self.name}"

    def reverse(self, before: SchemaState) -> Operation:
        return LeaveValidated(self.table_name, self.name, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.ValidateConstraint", [literal(self.table_name), literal(self.name)]),
            self.schema,
        )


class LeaveValidated(StateOnly, _TableOperation):
    """The reverse of ValidateConstraint: the constraint stays checked, no SQL runs."""

    def __init__(self, table: str, name: str, *, schema: str | None = None) -> None:
        self.table_name = table
        self.name = name
        self.schema = schema

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        return state

    def describe(self) -> str:
        return f"Leave constraint {self.name} on {self.key} validated"

    def fragment(self) -> str:
        return f"{self.table_name}_leave_{self.name}"

    def reverse(self, before: SchemaState) -> Operation:
        return ValidateConstraint(self.table_name, self.name, schema=self.schema)

    def source(self) -> Call:
        return _schema_kw(
            Call("ops.LeaveValidated", [literal(self.table_name), literal(self.name)]),
            self.schema,
        )
