"""A named enum type whose values change, for every column that uses it at once.

On PostgreSQL an enum is one type shared by every column (of any table) declared with
its name, so a change of values is a change of that type, not of one column: one
operation, which PostgreSQL runs as ALTER TYPE ... ADD VALUE when values are only added,
and as a new type with every column cast to it otherwise. Databases without enum types
change each column that uses it.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import replace

from gitmig.errors import GitmigError
from gitmig.ops.base import Operation, _schema_kw
from gitmig.schema import canonical, materialize, serializer
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import SchemaState, Table


def enum_values(state: SchemaState, name: str, schema: str | None) -> tuple[str, ...] | None:
    """The values of enum type `name` as the state's columns declare it (None if unused)."""
    for key in sorted(state.tables):
        for _, e in materialize.enum_types(state.tables[key]):
            if materialize.enum_key(e) == (schema, name):
                return tuple(e.enums)
    return None


def users(state: SchemaState, name: str, schema: str | None) -> list[tuple[Table, str]]:
    """(table, column) of every column of the enum type, in a stable order."""
    out = []
    for key in sorted(state.tables):
        t = state.tables[key]
        for col, e in materialize.enum_types(t):
            if materialize.enum_key(e) == (schema, name):
                out.append((t, col))
    return out


def _with_values(type_text: str, name: str, schema: str | None, values: Sequence[str]) -> str:
    """The type's source with the values of enum `name` replaced, in canonical form."""
    tree = ast.parse(type_text, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if called not in ("Enum", "ENUM"):
            continue
        kw = {k.arg: k.value for k in node.keywords if k.arg}
        got_name = kw.get("name")
        got_schema = kw.get("schema")
        if not (isinstance(got_name, ast.Constant) and got_name.value == name):
            continue
        if (got_schema.value if isinstance(got_schema, ast.Constant) else None) != schema:
            continue
        node.args = [ast.Constant(v) for v in values]
    return canonical.type_source(materialize.type_of(ast.unparse(tree)))


class AlterEnum(Operation):
    """Give enum type `name` these values, in this order, wherever it is used.

    `renames` ({old: new}) says which old values became which new ones, so rows holding
    them follow; makemigrations never guesses it, a person writes it. `in_place=False`
    asks PostgreSQL for a new type even when values are only added: a value added in
    place cannot be used (as a default, say) before the migration's transaction commits.
    """

    def __init__(
        self,
        name: str,
        values: Sequence[str],
        *,
        schema: str | None = None,
        renames: Mapping[str, str] | None = None,
        in_place: bool = True,
    ) -> None:
        if not values:
            raise GitmigError(f"AlterEnum {name!r} needs at least one value")
        self.name = name
        self.values = tuple(values)
        self.schema = schema
        self.renames = dict(sorted((renames or {}).items()))
        self.in_place = bool(in_place)
        for old, new in self.renames.items():
            if new not in self.values:
                raise GitmigError(
                    f"AlterEnum {name!r}: renames {old!r} to {new!r}, which is not one of "
                    "its values; list it in the values"
                )

    @property
    def label(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    def state_forwards(self, state: SchemaState, app: str) -> SchemaState:
        found = users(state, self.name, self.schema)
        if not found:
            raise GitmigError(
                f"cannot change enum type {self.label}: no column uses it at this point"
            )
        for table, col_name in found:
            table = state.table(table.key)
            cols = tuple(
                replace(c, type=_with_values(c.type, self.name, self.schema, self.values))
                if c.name == col_name else c
                for c in table.columns
            )
            state = state.with_table(table.evolve(columns=cols))
        return state

    def describe(self) -> str:
        return f"Set the values of enum type {self.label}: {', '.join(self.values)}"

    def fragment(self) -> str:
        return f"alter_enum_{self.name}"

    def reverse(self, before: SchemaState) -> Operation:
        old = enum_values(before, self.name, self.schema)
        if old is None:
            raise GitmigError(f"cannot undo the change of enum type {self.label}: unused")
        back = {new: old for old, new in self.renames.items()}
        return AlterEnum(self.name, old, schema=self.schema, renames=back)

    def source(self) -> Call:
        call = _schema_kw(
            Call("ops.AlterEnum", [literal(self.name), serializer.names(self.values)]),
            self.schema,
        )
        if self.renames:
            call.kwargs.append(("renames", literal(self.renames)))
        if not self.in_place:
            call.kwargs.append(("in_place", "False"))
        return call
