"""What a rule sees (one operation, or one migration, in its schema context) and what it
says (a Finding), and the registry of rules.

Rules are pure: the state before and after, which tables are not in production yet, the
models the running code maps (when known) and the target database's backend are handed
to them, so each is tested with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from gitmig.ops import Operation
from gitmig.schema.state import SchemaState

if TYPE_CHECKING:
    from gitmig.db.backends.base import Backend

SEVERITY_RANK = {"error": 0, "warning": 1, "notice": 2}


class RunningModels(Protocol):
    """The models of the code running in production (the merge base), read from git."""

    label: str

    def state(self) -> SchemaState: ...

    def model_of(self, table_key: str) -> str | None: ...


@dataclass(frozen=True)
class Migration:
    """One migration to judge, with the state the migrations before it replay to."""

    app: str
    name: str
    path: str
    operations: tuple[Operation, ...]
    before: SchemaState
    atomic: bool = True
    lock_timeout: float | None = None  # its own, else [tool.gitmig]'s

    @property
    def label(self) -> str:
        return f"{self.app}.{self.name}"


@dataclass
class Context:
    """One operation of a migration as a rule sees it."""

    migration: Migration
    index: int  # 0-based; -1 for rules on the whole migration
    before: SchemaState
    after: SchemaState
    backend: Backend
    new_tables: frozenset[str]  # not in production yet: created by the judged migrations
    running: RunningModels | None = None
    new_columns: frozenset[tuple[str, str]] = frozenset()  # (table, column), added likewise
    # (table, constraint name) added NOT VALID and not validated yet, up to this operation
    unvalidated: frozenset[tuple[str, str]] = frozenset()

    @property
    def op(self) -> Operation:
        return self.migration.operations[self.index]

    def existing(self, key: str) -> bool:
        """The table is in production with rows (as far as git can tell)."""
        return key in self.before.tables and key not in self.new_tables

    def existing_column(self, key: str, column: str) -> bool:
        """The column is in production, holding values."""
        return self.existing(key) and (key, column) not in self.new_columns

    def running_state(self) -> SchemaState | None:
        return self.running.state() if self.running is not None else None


@dataclass(frozen=True)
class Hit:
    """What a rule found: what happens, and the safe way."""

    message: str
    safe: str


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    group: str  # data loss, running code, PostgreSQL locks...
    title: str
    check: Callable[[Context], Iterable[Hit]]
    databases: frozenset[str] | None = None  # backend names; None: every database
    whole_migration: bool = False

    def concerns(self, backend: Backend) -> bool:
        return self.databases is None or backend.name in self.databases


RULES: dict[str, Rule] = {}


def rule(
    id: str, severity: str, group: str, title: str, *,
    databases: Iterable[str] | None = None, whole_migration: bool = False,
) -> Callable[[Callable[[Context], Iterable[Hit]]], Callable[[Context], Iterable[Hit]]]:
    """Register a rule; its docstring is why it matters (shown by `gitmig lint --rules`)."""

    def register(check: Callable[[Context], Iterable[Hit]]) -> Callable[[Context], Iterable[Hit]]:
        RULES[id] = Rule(id, severity, group, title, check,
                         frozenset(databases) if databases is not None else None,
                         whole_migration)
        return check

    return register


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: str
    app: str
    migration: str
    path: str
    line: int | None
    operation: str  # the operation's one-line description ("" for the whole migration)
    message: str
    safe: str
    database: str
    allowed: str | None = None  # the reason given where it is silenced
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def label(self) -> str:
        return f"{self.app}.{self.migration}"

    def as_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule, "severity": self.severity, "app": self.app,
            "migration": self.migration, "path": self.path, "line": self.line,
            "operation": self.operation, "message": self.message, "safe": self.safe,
            "database": self.database, "allowed": self.allowed,
        }
