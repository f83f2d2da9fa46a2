"""Operations that run code: RunSQL and RunPython."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from gitmig.errors import GitmigError
from gitmig.ops.base import (
    Operation,
)
from gitmig.schema.serializer import Call, literal
from gitmig.schema.state import (
    SchemaState,
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
        call = Call("ops.RunSQL", [literal(self.sql if len(self.sql) != 1 else self.sql[0])])
        if self.reverse_sql is not None:
            rev = self.reverse_sql
            call.kwargs.append(("reverse_sql", literal(rev if len(rev) != 1 else rev[0])))
        return call


class RunPython(Operation):
    """Python code, given a SQLAlchemy Connection and, when it takes a second argument, the
    schema as of that point of the history; without a reverse it cannot be unapplied."""

    def __init__(
        self,
        code: Callable[..., Any],
        reverse_code: Callable[..., Any] | None = None,
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


def _function_source(func: Callable[..., Any]) -> str:
    """How a migration file names a function: its own, or gitmig's noop."""
    if getattr(func, "__func__", func) is RunPython.noop:
        return "ops.RunPython.noop"
    return getattr(func, "__name__", "code")
