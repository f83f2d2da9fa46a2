"""The schema held in memory: what the models say, or what the migrations replay to.

Every value is immutable and compares by content, so two states built from different
sources (models, replayed files, a cache) are equal exactly when they describe the same
database. Column order is kept for CREATE TABLE but never makes two tables unequal:
a database cannot reorder columns, so the order is not part of the schema we promise.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

AutoIncrement = bool | Literal["auto"]


def table_key(name: str, schema: str | None = None) -> str:
    """The one spelling of a table's identity used everywhere in a state."""
    return f"{schema}.{name}" if schema else name


@dataclass(frozen=True)
class ServerDefault:
    """A DDL default: a literal value quoted by the database, or raw SQL such as now()."""

    kind: Literal["literal", "sql", "expr"]
    text: str


@dataclass(frozen=True)
class Identity:
    """GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY, with the sequence options given."""

    always: bool = False
    options: tuple[tuple[str, Any], ...] = ()  # (start, 10), (increment, 5)... sorted


@dataclass(frozen=True)
class Computed:
    """GENERATED ALWAYS AS (sqltext), STORED when persisted, VIRTUAL when not."""

    sqltext: str
    persisted: bool | None = None


@dataclass(frozen=True)
class Sequence:
    """A named sequence that feeds the column (PostgreSQL, MariaDB; SQLite ignores it)."""

    name: str
    schema: str | None = None
    options: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # canonical source form, e.g. "sa.String(length=200)"
    nullable: bool = True
    primary_key: bool = False
    autoincrement: AutoIncrement = "auto"
    server_default: ServerDefault | None = None
    comment: str | None = None
    identity: Identity | None = None
    computed: Computed | None = None
    sequence: Sequence | None = None
    # The model's scalar Python-side default: used to fill existing rows when the column
    # is added as NOT NULL, but not part of the database schema, hence not compared.
    default: Any = field(default=None, compare=False)


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str  # table_key of the referenced table
    ref_columns: tuple[str, ...]
    name: str | None = None
    ondelete: str | None = None
    onupdate: str | None = None
    deferrable: bool | None = None
    initially: str | None = None
    match: str | None = None


@dataclass(frozen=True)
class Unique:
    columns: tuple[str, ...]
    name: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # dialect keywords, as Index.options


@dataclass(frozen=True)
class Check:
    """A CHECK constraint; `column` names the column it was declared on
    (`sa.Column("x", sa.Integer, sa.CheckConstraint("x > 0"))`), which CREATE TABLE writes
    inside that column's definition: SQLite's text and MariaDB's catalog tell the two apart."""

    sqltext: str
    name: str | None = None
    column: str | None = None


@dataclass(frozen=True)
class Index:
    """Columns are names, or the SQL of an expression (lower(name), title DESC).

    `options` are the dialect keywords (postgresql_where, mysql_length...) as sorted
    (keyword, Python source of the value) pairs: hashable, and what a file writes.
    """

    name: str
    columns: tuple[str, ...]
    unique: bool = False
    options: tuple[tuple[str, str], ...] = ()


Constraint = ForeignKey | Unique | Check

CONSTRAINT_KINDS: dict[type, str] = {ForeignKey: "foreignkey", Unique: "unique", Check: "check"}


def constraint_identity(c: Constraint) -> tuple[str, ...]:
    """How a constraint is found again: by name, or by kind and columns when unnamed."""
    if c.name:
        return ("name", c.name)
    if isinstance(c, Check):
        return ("check", c.sqltext)
    return (CONSTRAINT_KINDS[type(c)], *c.columns)


@dataclass(frozen=True, eq=False)
class Table:
    name: str
    columns: tuple[Column, ...]
    schema: str | None = None
    app: str = ""
    pk_name: str | None = None
    foreign_keys: frozenset[ForeignKey] = frozenset()
    uniques: frozenset[Unique] = frozenset()
    checks: frozenset[Check] = frozenset()
    indexes: frozenset[Index] = frozenset()
    comment: str | None = None
    # Dialect keywords (mysql_engine, sqlite_autoincrement...) as Index.options.
    options: tuple[tuple[str, str], ...] = ()

    @property
    def key(self) -> str:
        return table_key(self.name, self.schema)

    @property
    def primary_key(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.primary_key)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)

    @property
    def constraints(self) -> Iterator[Constraint]:
        yield from self.foreign_keys
        yield from self.uniques
        yield from self.checks

    def _identity(self) -> tuple[Any, ...]:
        return (
            self.name,
            self.schema,
            self.app,
            self.pk_name,
            frozenset(self.columns),
            self.foreign_keys,
            self.uniques,
            self.checks,
            self.indexes,
            self.comment,
            self.options,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Table):
            return NotImplemented
        return self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def evolve(self, **changes: Any) -> Table:
        return replace(self, **changes)

    def with_constraint(self, c: Constraint) -> Table:
        field_name = {ForeignKey: "foreign_keys", Unique: "uniques", Check: "checks"}[type(c)]
        return self.evolve(**{field_name: getattr(self, field_name) | {c}})

    def without_constraint(self, identity: tuple[str, ...]) -> Table:
        return self.evolve(
            foreign_keys=frozenset(
                c for c in self.foreign_keys if constraint_identity(c) != identity
            ),
            uniques=frozenset(c for c in self.uniques if constraint_identity(c) != identity),
            checks=frozenset(c for c in self.checks if constraint_identity(c) != identity),
        )

    def find_constraint(self, identity: tuple[str, ...]) -> Constraint | None:
        for c in self.constraints:
            if constraint_identity(c) == identity:
                return c
        return None


@dataclass(frozen=True)
class SchemaState:
    """All tables of all apps, keyed by table_key."""

    tables: Mapping[str, Table] = field(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SchemaState):
            return NotImplemented
        return dict(self.tables) == dict(other.tables)

    def __hash__(self) -> int:
        return hash(frozenset(self.tables.items()))

    def get(self, key: str) -> Table | None:
        return self.tables.get(key)

    def table(self, key: str) -> Table:
        try:
            return self.tables[key]
        except KeyError:
            raise KeyError(key) from None

    def with_table(self, table: Table) -> SchemaState:
        tables = dict(self.tables)
        tables[table.key] = table
        return SchemaState(tables)

    def without_table(self, key: str) -> SchemaState:
        tables = dict(self.tables)
        del tables[key]
        return SchemaState(tables)

    def for_apps(self, apps: Iterable[str]) -> SchemaState:
        wanted = set(apps)
        return SchemaState({k: t for k, t in self.tables.items() if t.app in wanted})

    def app_of(self, key: str) -> str | None:
        t = self.tables.get(key)
        return t.app if t else None
