"""How each operation runs on a database: gitmig.ops says what, this module says how.

All DDL goes through Alembic's operations layer, which knows each dialect's forms
(MySQL's CHANGE/MODIFY COLUMN, PostgreSQL's ALTER COLUMN ... TYPE); nothing here writes
dialect SQL by hand. SQLite cannot alter columns or constraints, so those changes
rebuild the table with Alembic's batch mode from the state after the operation: the new
table is exactly what CREATE TABLE of the models would make, and the rows are copied
into it column by column.

Every function gets the states before and after its operation, so it never guesses
what the database holds: the types and defaults MySQL needs restated, the table SQLite
rebuilds, the PostgreSQL enum types that come into use or fall out of it. Only the
names a database gave to unnamed constraints are read from the database itself.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO

import sqlalchemy as sa
from alembic.operations import Operations
from sqlalchemy.dialects.postgresql import CreateEnumType, DropEnumType
from sqlalchemy.engine import Connection, Dialect

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.schema import materialize
from gitmig.schema.state import (
    Check,
    Column,
    Constraint,
    ForeignKey,
    SchemaState,
    Table,
    Unique,
    constraint_identity,
)


@dataclass
class Context:
    """Where an operation runs, and the schema on either side of it."""

    operations: Operations
    family: str  # sqlite, postgresql or mysql (MariaDB included)
    dialect: Dialect
    before: SchemaState
    after: SchemaState
    connection: Connection | None = None  # None when only printing SQL with no database
    as_sql: bool = False  # printing (sqlmigrate), not executing
    output: TextIO | None = None

    def note(self, text: str) -> None:
        """A comment in printed SQL; nothing when executing."""
        if self.as_sql and self.output is not None:
            for line in text.splitlines():
                self.output.write(f"-- {line}\n")
            self.output.write("\n")

    def quote(self, name: str) -> str:
        return str(self.dialect.identifier_preparer.quote(name))


def run(op: ops.Operation, ctx: Context) -> None:
    """Run one operation, taking the database from ctx.before to ctx.after."""
    enums = ctx.family == "postgresql" and bool(op.tables())
    sequences = bool(op.tables()) and bool(ctx.dialect.supports_sequences)
    if enums:
        _create_enum_types(op, ctx)
    if sequences:
        _create_sequences(op, ctx)
    _run(op, ctx)
    if enums:
        _drop_enum_types(op, ctx)
    if sequences:
        _drop_sequences(op, ctx)


@functools.singledispatch
def _run(op: ops.Operation, ctx: Context) -> None:
    raise GitmigError(f"gitmig cannot run {type(op).__name__} on a database yet")


# -- tables -----------------------------------------------------------------------------


@_run.register
def _create_table(op: ops.CreateTable, ctx: Context) -> None:
    t = ctx.after.table(op.key)
    items = _no_type_events(materialize.table_items(t))
    ctx.operations.create_table(t.name, *items, schema=t.schema, comment=t.comment)


@_run.register
def _drop_table(op: ops.DropTable, ctx: Context) -> None:
    ctx.operations.drop_table(op.name, schema=op.schema)


@_run.register
def _rename_table(op: ops.RenameTable, ctx: Context) -> None:
    ctx.operations.rename_table(op.old, op.new, schema=op.schema)


@_run.register
def _alter_table_comment(op: ops.AlterTableComment, ctx: Context) -> None:
    if ctx.family == "sqlite":
        ctx.note(f"{op.describe()}: SQLite keeps no comments")
        return
    existing = ctx.before.table(op.key).comment
    if op.comment is None:
        ctx.operations.drop_table_comment(op.table_name, existing_comment=existing,
                                          schema=op.schema)
    else:
        ctx.operations.create_table_comment(op.table_name, op.comment,
                                            existing_comment=existing, schema=op.schema)


# -- columns ----------------------------------------------------------------------------


@_run.register
def _add_column(op: ops.AddColumn, ctx: Context) -> None:
    col = op.column
    typ = materialize.type_of(col.type)
    default = materialize.server_default(col.server_default)
    backfill = None
    if not col.nullable and col.server_default is None and op.backfill is not ops.UNSET:
        backfill = sa.text(_literal_sql(op.backfill, typ, ctx.dialect))

    if ctx.family == "sqlite":
        _add_column_sqlite(op, ctx, typ, backfill)
        return

    new = sa.Column(
        col.name,
        typ,
        *(g for g in materialize.generated(col) if not isinstance(g, sa.Sequence)),
        nullable=col.nullable,
        server_default=default if backfill is None else backfill,
        comment=col.comment,
        autoincrement=col.autoincrement,
    )
    _no_type_events([new])
    ctx.operations.add_column(op.table_name, new, schema=op.schema)
    if backfill is not None:
        # Existing rows got the one-off value; new rows must name one, as the models say.
        after = ctx.after.table(op.key)
        ctx.operations.alter_column(
            op.table_name,
            col.name,
            server_default=None,
            schema=op.schema,
            **_existing(ctx, after, col, server_default=backfill),
        )
    for fk in op.foreign_keys:
        _create_foreign_key(ctx, op.table_name, op.schema, fk)


def _add_column_sqlite(
    op: ops.AddColumn, ctx: Context, typ: sa.types.TypeEngine[Any], backfill: Any
) -> None:
    """ALTER TABLE ADD COLUMN where SQLite allows it, then a rebuild where it does not.

    SQLite adds only nullable columns or ones with a constant default, and never with a
    foreign key; so the column is added in a form it accepts, existing rows are filled,
    and the table is rebuilt into its final form (NOT NULL, no one-off default, the
    foreign key).
    """
    col = op.column
    if col.computed is not None:
        _rebuild(ctx, op.key)  # SQLite adds no STORED column; the rebuild computes it
        return
    nullable = col.nullable
    default: Any = materialize.server_default(col.server_default)
    fill: Any = None
    rebuild = bool(op.foreign_keys) or col.primary_key
    if col.server_default is not None and col.server_default.kind in ("sql", "expr"):
        # now(), CURRENT_TIMESTAMP...: SQLite refuses non-constant defaults in ALTER TABLE.
        nullable, default, fill, rebuild = True, None, default, True
    elif col.server_default is None and not col.nullable:
        if backfill is not None:
            default = backfill
        else:
            nullable = True  # the rebuild fails if rows exist, as it must
        rebuild = True
    new = sa.Column(col.name, typ, nullable=nullable, server_default=default)
    ctx.operations.add_column(op.table_name, new, schema=op.schema)
    if fill is not None:
        target = sa.table(op.table_name, sa.column(col.name), schema=op.schema)
        ctx.operations.execute(target.update().values({col.name: fill}))
    if rebuild:
        _rebuild(ctx, op.key)


@_run.register
def _drop_column(op: ops.DropColumn, ctx: Context) -> None:
    before = ctx.before.table(op.key)
    name = op.column_name
    if ctx.family == "sqlite":
        version = ctx.dialect.server_version_info
        if _sqlite_can_drop(before, name) and (version is None or version >= (3, 35)):
            ctx.operations.drop_column(op.table_name, name, schema=op.schema)
        else:
            _rebuild(ctx, op.key)
        return
    if ctx.family == "mysql":
        # MySQL refuses to drop a column under a foreign key, and shrinks (rather than
        # drops) indexes over several columns; the state drops them whole.
        for fk in sorted(before.foreign_keys, key=repr):
            if name in fk.columns:
                _drop_constraint(ctx, before, fk)
        for u in sorted(before.uniques, key=repr):
            if name in u.columns and len(u.columns) > 1:
                _drop_constraint(ctx, before, u)
        for ix in sorted(before.indexes, key=lambda i: i.name):
            if name in ix.columns and len(ix.columns) > 1:
                ctx.operations.drop_index(ix.name, table_name=op.table_name, schema=op.schema)
    ctx.operations.drop_column(op.table_name, name, schema=op.schema)


def _sqlite_can_drop(table: Table, name: str) -> bool:
    """SQLite's own DROP COLUMN refuses columns that anything else refers to."""
    if table.column(name).primary_key:
        return False
    for c in table.constraints:
        if isinstance(c, Check):
            if re.search(rf"\b{re.escape(name)}\b", c.sqltext):
                return False
        elif name in c.columns:
            return False
    return not any(name in ix.columns for ix in table.indexes)


@_run.register
def _alter_column(op: ops.AlterColumn, ctx: Context) -> None:
    before_t, after_t = ctx.before.table(op.key), ctx.after.table(op.key)
    old, new = before_t.column(op.column_name), after_t.column(op.column_name)
    if new.nullable is False and old.nullable and op.backfill is not ops.UNSET:
        typ = materialize.type_of(old.type)
        target = sa.table(op.table_name, sa.column(new.name), schema=op.schema)
        ctx.operations.execute(
            target.update()
            .where(target.c[new.name].is_(None))
            .values({new.name: sa.literal(op.backfill, typ)})
        )
    if ctx.family == "sqlite":
        if _differs(old, new, "type", "nullable", "server_default", "identity"):
            _rebuild(ctx, op.key)
        else:
            ctx.note(f"{op.describe()}: nothing to do on SQLite")
        return

    kw: dict[str, Any] = {}
    if old.nullable != new.nullable:
        kw["nullable"] = new.nullable
    if old.server_default != new.server_default:
        kw["server_default"] = materialize.server_default(new.server_default)
    if old.comment != new.comment:
        kw["comment"] = new.comment
    if ctx.family == "mysql" and old.autoincrement != new.autoincrement:
        kw["autoincrement"] = _is_autoincrement(after_t, new.name)
    if ctx.family == "postgresql" and old.identity != new.identity:
        _alter_identity(ctx, op, before_t, old, new)
    if old.type != new.type:
        if ctx.family == "postgresql" and _alter_enum_values(ctx, op, old, new):
            pass
        elif ctx.family == "postgresql":
            _alter_type_postgresql(ctx, op, before_t, old, new)
            kw.pop("server_default", None)
        else:
            kw["type_"] = materialize.type_of(new.type)
    if not kw:
        if old.type == new.type:
            ctx.note(f"{op.describe()}: nothing to do on {ctx.family}")
        return
    ctx.operations.alter_column(
        op.table_name,
        op.column_name,
        schema=op.schema,
        **kw,
        **_existing(ctx, before_t, old, nullable=new.nullable, type_=new.type),
    )


def _alter_identity(ctx: Context, op: ops.AlterColumn, table: Table, old: Column,
                    new: Column) -> None:
    """ADD GENERATED ... AS IDENTITY, SET its options, or DROP IDENTITY (PostgreSQL)."""
    def identity(c: Column) -> sa.Identity | None:
        return next((g for g in materialize.generated(c) if isinstance(g, sa.Identity)), None)

    existing = _existing(ctx, table, old)
    existing["existing_server_default"] = identity(old)
    ctx.operations.alter_column(op.table_name, old.name, server_default=identity(new),
                                schema=op.schema, **existing)


def _differs(a: Column, b: Column, *fields: str) -> bool:
    return any(getattr(a, f) != getattr(b, f) for f in fields)


def _alter_type_postgresql(
    ctx: Context, op: ops.AlterColumn, table: Table, old: Column, new: Column
) -> None:
    """ALTER ... TYPE with a USING cast, the default lifted off and put back around it.

    PostgreSQL converts the rows with USING but not the column's default, which often
    cannot be cast (text to an enum); so the default goes first and the new one after.
    """
    typ = materialize.type_of(new.type)
    existing = _existing(ctx, table, old)
    if old.server_default is not None:
        ctx.operations.alter_column(op.table_name, old.name, server_default=None,
                                    schema=op.schema, **existing)
    using = f"{ctx.quote(old.name)}::{_cast_target(typ, ctx.dialect)}"
    ctx.operations.alter_column(op.table_name, old.name, type_=typ, schema=op.schema,
                                postgresql_using=using, **existing)
    if new.server_default is not None:
        ctx.operations.alter_column(
            op.table_name, old.name, schema=op.schema,
            server_default=materialize.server_default(new.server_default),
            **_existing(ctx, table, old, type_=new.type),
        )


def _cast_target(typ: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    if isinstance(typ, sa.Enum) and typ.native_enum and typ.name:
        # an enum accepts text, not every type it might come from (integer, boolean)
        return f"text::{typ.compile(dialect=dialect)}"
    return str(typ.compile(dialect=dialect))


@_run.register
def _rename_column(op: ops.RenameColumn, ctx: Context) -> None:
    table = ctx.before.table(op.key)
    ctx.operations.alter_column(
        op.table_name,
        op.old,
        new_column_name=op.new,
        schema=op.schema,
        **_existing(ctx, table, table.column(op.old)),
    )


def _existing(
    ctx: Context,
    table: Table,
    col: Column,
    *,
    nullable: bool | None = None,
    type_: str | None = None,
    server_default: Any = ops.UNSET,
) -> dict[str, Any]:
    """What Alembic needs restated about a column (MySQL rewrites the whole definition)."""
    kw: dict[str, Any] = {
        "existing_type": materialize.type_of(type_ or col.type),
        "existing_nullable": col.nullable if nullable is None else nullable,
        "existing_server_default": (
            materialize.server_default(col.server_default)
            if server_default is ops.UNSET else server_default
        ),
        "existing_comment": col.comment,
    }
    if ctx.family == "mysql":
        kw["existing_autoincrement"] = _is_autoincrement(table, col.name)
    return kw


def _is_autoincrement(table: Table, column: str) -> bool:
    auto = materialize.table(table, indexes=False, constraints=False).autoincrement_column
    return auto is not None and auto.name == column


# -- indexes and constraints -------------------------------------------------------------


@_run.register
def _create_index(op: ops.CreateIndex, ctx: Context) -> None:
    table = ctx.after.table(op.key)
    ctx.operations.create_index(
        op.index.name,
        op.table_name,
        materialize.index_elements(op.index, (c.name for c in table.columns)),
        unique=op.index.unique,
        schema=op.schema,
    )


@_run.register
def _drop_index(op: ops.DropIndex, ctx: Context) -> None:
    if ctx.family == "mysql":
        _keep_foreign_keys_indexed(ctx, ctx.after.table(op.key), op.name)
    ctx.operations.drop_index(op.name, table_name=op.table_name, schema=op.schema)


def _keep_foreign_keys_indexed(ctx: Context, after: Table, dropping: str) -> None:
    """MySQL will not drop the index a foreign key uses: give the key its own first.

    MySQL picks any index that starts with a foreign key's columns to back the key, and
    creates one only when none exists; so before such an index goes, the key gets the
    plain index MySQL would have made for it (create_all of the same schema has it too).
    """
    for fk in sorted(after.foreign_keys, key=repr):
        n = len(fk.columns)
        if after.primary_key[:n] == fk.columns:
            continue
        if any(ix.columns[:n] == fk.columns for ix in after.indexes if ix.name != dropping):
            continue
        if any(u.columns[:n] == fk.columns for u in after.uniques if u.name != dropping):
            continue
        existing = _mysql_index_names(ctx, after, fk.columns, dropping)
        if existing is None:  # another index, made by MySQL or by hand, already serves
            continue
        base = name = fk.name or fk.columns[0]
        number = 1
        while name in existing or name == dropping:  # MySQL's own way: title, title_2...
            number += 1
            name = f"{base}_{number}"
        ctx.operations.create_index(name, after.name, list(fk.columns), schema=after.schema)


def _mysql_index_names(
    ctx: Context, table: Table, columns: tuple[str, ...], dropping: str
) -> set[str] | None:
    """Names of the table's indexes, or None if one besides `dropping` covers columns."""
    if ctx.connection is None or ctx.as_sql:
        return {ix.name for ix in table.indexes}
    names = set()
    for ix in sa.inspect(ctx.connection).get_indexes(table.name, schema=table.schema):
        cols = tuple(ix["column_names"][: len(columns)])
        if ix["name"] != dropping and cols == columns:
            return None
        names.add(str(ix["name"]))
    return names


@_run.register
def _add_constraint(op: ops.AddConstraint, ctx: Context) -> None:
    c = op.constraint
    if ctx.family == "sqlite":
        _rebuild(ctx, op.key)
    elif isinstance(c, ForeignKey):
        _create_foreign_key(ctx, op.table_name, op.schema, c)
    elif isinstance(c, Unique):
        ctx.operations.create_unique_constraint(c.name, op.table_name, list(c.columns),
                                                schema=op.schema)
    else:
        ctx.operations.create_check_constraint(c.name, op.table_name, sa.text(c.sqltext),
                                               schema=op.schema)


@_run.register
def _drop_constraint_op(op: ops.DropConstraint, ctx: Context) -> None:
    if ctx.family == "sqlite":
        _rebuild(ctx, op.key)
        return
    table = ctx.before.table(op.key)
    _drop_constraint(ctx, table, op.find(ctx.before))


def _create_foreign_key(ctx: Context, table: str, schema: str | None, fk: ForeignKey) -> None:
    ref_schema, _, ref_table = fk.ref_table.rpartition(".")
    ctx.operations.create_foreign_key(
        fk.name,
        table,
        ref_table,
        list(fk.columns),
        list(fk.ref_columns),
        ondelete=fk.ondelete,
        onupdate=fk.onupdate,
        source_schema=schema,
        referent_schema=ref_schema or None,
    )


_KINDS = {ForeignKey: "foreignkey", Unique: "unique", Check: "check"}


def _drop_constraint(ctx: Context, table: Table, c: Constraint) -> None:
    implicit_index = None
    if ctx.family == "mysql" and isinstance(c, ForeignKey):
        implicit_index = _mysql_foreign_key_index(ctx, table, c)
    name = constraint_name(ctx, table, c)
    if ctx.family == "mysql" and isinstance(c, Unique):
        # A unique constraint is an index in MySQL, and may be serving a foreign key.
        _keep_foreign_keys_indexed(ctx, table.without_constraint(constraint_identity(c)), name)
    ctx.operations.drop_constraint(name, table.name, type_=_KINDS[type(c)],
                                   schema=table.schema)
    if implicit_index:
        # MySQL made this index for the foreign key and keeps it when the key goes;
        # the models never declared it.
        ctx.operations.drop_index(implicit_index, table_name=table.name, schema=table.schema)


def _mysql_foreign_key_index(ctx: Context, table: Table, fk: ForeignKey) -> str | None:
    """The index MySQL created to back a foreign key, if the schema has no use for it."""
    declared = {ix.name for ix in table.indexes}
    n = len(fk.columns)
    if (
        table.primary_key[:n] == fk.columns
        or any(ix.columns[:n] == fk.columns for ix in table.indexes)
        or any(u.columns[:n] == fk.columns for u in table.uniques)
        or any(o != fk and o.columns[:n] == fk.columns for o in table.foreign_keys)
    ):
        return None  # MySQL made no index of its own, or another key still needs it
    candidates = {fk.name, fk.columns[0]} - {None}
    if ctx.connection is None or ctx.as_sql:
        return fk.name or fk.columns[0]
    inspector = sa.inspect(ctx.connection)
    for ix in inspector.get_indexes(table.name, schema=table.schema):
        if (
            ix["name"] in candidates
            and ix["name"] not in declared
            and tuple(ix["column_names"]) == fk.columns
            and not ix["unique"]
        ):
            return str(ix["name"])
    return None


def constraint_name(ctx: Context, table: Table, c: Constraint) -> str:
    """The constraint's name, or the one the database gave it when the models gave none."""
    if c.name:
        return c.name
    if ctx.connection is not None:
        found = _reflected_name(ctx.connection, table, c)
        if found:
            return found
        if not ctx.as_sql:
            raise GitmigError(
                f"cannot find the unnamed {_describe(c)} on {table.key} in the database; "
                "was it dropped by hand? Recreate it, or give it a name in a new migration"
            )
    guess = _default_name(ctx.family, table, c)
    ctx.note(f"{guess} is the name {ctx.family} gives an unnamed {_describe(c)} by default")
    return guess


def _describe(c: Constraint) -> str:
    if isinstance(c, Check):
        return f"check constraint ({c.sqltext})"
    kind = "foreign key" if isinstance(c, ForeignKey) else "unique constraint"
    return f"{kind} ({', '.join(c.columns)})"


def normalize_check(sqltext: str) -> str:
    """CHECK text as databases echo it back, reduced to compare: no casts, quotes, parens."""
    text = sqltext.lower()
    text = re.sub(r"::[a-z_ ]+(\([0-9, ]*\))?(\[\])?", "", text)
    return re.sub(r"[\s()`\"]", "", text)


def _reflected_name(conn: Connection, table: Table, c: Constraint) -> str | None:
    inspector = sa.inspect(conn)
    if isinstance(c, Unique):
        for uc in inspector.get_unique_constraints(table.name, schema=table.schema):
            if tuple(uc["column_names"]) == c.columns and uc["name"]:
                return str(uc["name"])
    elif isinstance(c, ForeignKey):
        ref = c.ref_table.rpartition(".")[2]
        for fk in inspector.get_foreign_keys(table.name, schema=table.schema):
            if (
                tuple(fk["constrained_columns"]) == c.columns
                and fk["referred_table"] == ref
                and tuple(fk["referred_columns"]) == c.ref_columns
                and fk["name"]
            ):
                return str(fk["name"])
    else:
        want = normalize_check(c.sqltext)
        for cc in inspector.get_check_constraints(table.name, schema=table.schema):
            if normalize_check(cc["sqltext"]) == want and cc["name"]:
                return str(cc["name"])
    return None


def _default_name(family: str, table: Table, c: Constraint) -> str:
    if family == "mysql":
        if isinstance(c, ForeignKey):
            return f"{table.name}_ibfk_1"
        if isinstance(c, Unique):
            return c.columns[0]
        return "CONSTRAINT_1"
    if isinstance(c, ForeignKey):
        return f"{table.name}_{'_'.join(c.columns)}_fkey"[:63]
    if isinstance(c, Unique):
        return f"{table.name}_{'_'.join(c.columns)}_key"[:63]
    # PostgreSQL names a check after the first column its expression mentions.
    names = {col.name for col in table.columns}
    words = [w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", c.sqltext) if w in names]
    return (f"{table.name}_{words[0]}_check" if words else f"{table.name}_check")[:63]


# -- SQLite table rebuilds ---------------------------------------------------------------


def _rebuild(ctx: Context, key: str) -> None:
    """Recreate the table as the state after the operation says, keeping its rows.

    The new table is built from the state, not reflected, so it carries exactly the
    models' constraints (unnamed ones too) and defaults; every column the old table
    also has is copied across.
    """
    t = ctx.after.table(key)
    copy_from = materialize.table(t)
    with ctx.operations.batch_alter_table(
        t.name, schema=t.schema, copy_from=copy_from, recreate="always"
    ) as batch:
        for col in t.columns:
            if col.computed is not None:
                # Generated values are computed again by the new table, never copied.
                batch.drop_column(col.name)
                batch.add_column(materialize.column(col))


# -- raw SQL and Python ------------------------------------------------------------------

_BIND = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@_run.register
def _run_sql(op: ops.RunSQL, ctx: Context) -> None:
    for statement in op.sql:
        if not statement.strip():
            continue
        if ctx.as_sql and ctx.output is not None:
            text = statement.strip()
            ctx.output.write(text + ("" if text.endswith(";") else ";") + "\n\n")
        else:
            # The SQL is the user's, colons included: nothing in it is a bind parameter.
            ctx.operations.execute(sa.text(_BIND.sub(r"\\:\1", statement)))


@_run.register
def _run_python(op: ops.RunPython, ctx: Context) -> None:
    if ctx.as_sql or ctx.connection is None:
        ctx.note(f"{op.describe()} (Python code, runs only under `gitmig migrate`)")
        return
    op.code(ctx.connection)


# -- sequences (PostgreSQL, MariaDB) -------------------------------------------------------


def _sequences(tables: Iterable[Table | None]) -> dict[tuple[str | None, str], sa.Sequence]:
    out: dict[tuple[str | None, str], sa.Sequence] = {}
    for t in tables:
        for col in t.columns if t is not None else ():
            for g in materialize.generated(col):
                if isinstance(g, sa.Sequence):
                    out[(g.schema, str(g.name))] = g
    return out


def _create_sequences(op: ops.Operation, ctx: Context) -> None:
    """Create the sequences the operation brings into use, as create_all does."""
    before = _sequences(_touched(op, ctx.before))
    existing = _sequences(ctx.before.tables.values())
    for k, seq in sorted(_sequences(_touched(op, ctx.after)).items(), key=str):
        if k not in before and k not in existing and not (
            seq.optional and ctx.dialect.sequences_optional
        ):
            ctx.operations.execute(sa.schema.CreateSequence(seq))


def _drop_sequences(op: ops.Operation, ctx: Context) -> None:
    """Drop the sequences nothing uses any more, as drop_all does."""
    after = _sequences(_touched(op, ctx.after))
    still = _sequences(ctx.after.tables.values())
    for k, seq in sorted(_sequences(_touched(op, ctx.before)).items(), key=str):
        if k not in after and k not in still and not (
            seq.optional and ctx.dialect.sequences_optional
        ):
            ctx.operations.execute(sa.schema.DropSequence(seq))


# -- PostgreSQL enum types ---------------------------------------------------------------


def _enums(tables: Iterable[Table | None]) -> dict[tuple[str | None, str], sa.Enum]:
    out: dict[tuple[str | None, str], sa.Enum] = {}
    for t in tables:
        if t is not None:
            for _, e in materialize.enum_types(t):
                out[materialize.enum_key(e)] = e
    return out


def _touched(op: ops.Operation, s: SchemaState) -> list[Table | None]:
    return [s.get(k) for k in sorted(op.tables())]


def _create_enum_types(op: ops.Operation, ctx: Context) -> None:
    """Create the enum types the operation brings into use (CREATE TABLE does not)."""
    before = _enums(_touched(op, ctx.before))
    new = {k: e for k, e in _enums(_touched(op, ctx.after)).items() if k not in before}
    if new:
        existing = _enums(ctx.before.tables.values())
        for k in sorted(new, key=str):
            if k not in existing:
                ctx.operations.execute(CreateEnumType(new[k]))


def _drop_enum_types(op: ops.Operation, ctx: Context) -> None:
    """Drop the enum types nothing uses any more (DROP TABLE leaves them behind)."""
    after = _enums(_touched(op, ctx.after))
    gone = {k: e for k, e in _enums(_touched(op, ctx.before)).items() if k not in after}
    if gone:
        still = _enums(ctx.after.tables.values())
        for k in sorted(gone, key=str):
            if k not in still:
                ctx.operations.execute(DropEnumType(gone[k]))


def _alter_enum_values(ctx: Context, op: ops.AlterColumn, old: Column, new: Column) -> bool:
    """An enum type whose values change keeps its name: replace it under the column.

    PostgreSQL cannot remove or reorder an enum's values, so the column goes to text,
    the old type is dropped, the new one created, and the column converted back.
    """
    old_t, new_t = materialize.type_of(old.type), materialize.type_of(new.type)
    if not (
        isinstance(old_t, sa.Enum) and isinstance(new_t, sa.Enum)
        and old_t.native_enum and new_t.native_enum and old_t.name
        and materialize.enum_key(old_t) == materialize.enum_key(new_t)
    ):
        return False
    users = [
        (t.key, col) for t in ctx.before.tables.values()
        for col, e in materialize.enum_types(t)
        if materialize.enum_key(e) == materialize.enum_key(old_t)
    ]
    if users != [(op.key, old.name)]:
        names = ", ".join(f"{k}.{c}" for k, c in users)
        raise GitmigError(
            f"enum type {old_t.name} changes its values but is shared by {names}; "
            "give the new values a new type name"
        )
    table = ctx.before.table(op.key)
    existing = _existing(ctx, table, old)
    if old.server_default is not None:
        ctx.operations.alter_column(op.table_name, old.name, server_default=None,
                                    schema=op.schema, **existing)
    ctx.operations.alter_column(op.table_name, old.name, type_=sa.Text(), schema=op.schema,
                                **existing)
    ctx.operations.execute(DropEnumType(old_t))
    ctx.operations.execute(CreateEnumType(new_t))
    using = f"{ctx.quote(old.name)}::{_cast_target(new_t, ctx.dialect)}"
    ctx.operations.alter_column(op.table_name, old.name, type_=new_t, schema=op.schema,
                                postgresql_using=using,
                                **_existing(ctx, table, old, type_="sa.Text()",
                                            server_default=None))
    if new.server_default is not None:
        ctx.operations.alter_column(
            op.table_name, old.name, schema=op.schema,
            server_default=materialize.server_default(new.server_default),
            **_existing(ctx, table, old, type_=new.type, server_default=None),
        )
    return True


def _no_type_events(items: list[Any]) -> list[Any]:
    """Keep CREATE TABLE from creating enum types itself: _create_enum_types does that."""
    for item in items:
        if not isinstance(item, sa.Column):
            continue
        for typ in (item.type, getattr(item.type, "item_type", None)):  # ARRAY(ENUM)
            if isinstance(typ, sa.Enum):
                typ.create_type = False
    return items


def _literal_sql(value: Any, typ: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    """A value as an SQL literal of the column's type, for a one-off DEFAULT."""
    for candidate in (typ, None):
        try:
            expr = sa.literal(value, candidate) if candidate is not None else sa.literal(value)
            return str(expr.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        except Exception:  # a type without a literal form for this value: fall back
            continue
    raise GitmigError(f"cannot write {value!r} as an SQL value")
