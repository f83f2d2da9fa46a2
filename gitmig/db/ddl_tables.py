"""How a table's options change and how it moves between schemas, on each database.

MySQL: ENGINE= and CONVERT TO CHARACTER SET (the columns follow the table's character set,
as they do in CREATE TABLE). SQLite: a rebuild (AUTOINCREMENT, WITHOUT ROWID live in CREATE
TABLE). PostgreSQL: ALTER TABLE ... SET SCHEMA; MySQL: RENAME TABLE into the other database.
"""

from __future__ import annotations

import sqlalchemy as sa

from gitmig import ops
from gitmig.db import ddlhelpers as ddl  # the helpers gitmig.db.ddl re-exports
from gitmig.db.ddlhelpers import Context
from gitmig.errors import GitmigError
from gitmig.schema import materialize


def _server_default(ctx: Context, what: str, fallback: str) -> str:
    if ctx.connection is None or ctx.as_sql:
        return fallback
    return str(ctx.connection.execute(sa.text(f"SELECT @@{what}")).scalar() or fallback)


@ddl._run.register
def _alter_table_options(op: ops.AlterTableOptions, ctx: Context) -> None:
    before = dict(ctx.before.table(op.key).options)
    after = dict(op.options)
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    if ctx.family == "sqlite":
        if any(k.startswith("sqlite_") for k in changed):
            ddl.rebuild(ctx, op.key)
        else:
            ctx.note(f"{op.describe()}: nothing changes on SQLite")
        return
    if ctx.family != "mysql":
        if any(k.startswith("postgresql_") for k in changed):
            raise GitmigError(
                f"table {op.key}: gitmig cannot change PostgreSQL table options "
                f"({', '.join(sorted(changed))}) of an existing table; write the ALTER TABLE "
                "with ops.RunSQL in a migration from `gitmig makemigrations --empty`"
            )
        ctx.note(f"{op.describe()}: nothing changes on PostgreSQL")
        return
    kw = materialize.dialect_kwargs(op.options)

    def option(name: str) -> object:
        return kw.get(f"mysql_{name}", kw.get(f"mariadb_{name}"))

    parts = []
    if {"mysql_engine", "mariadb_engine"} & changed:
        engine = option("engine") or _server_default(ctx, "default_storage_engine", "InnoDB")
        parts.append(f"ENGINE={engine}")
    charset_keys = {f"{p}_{n}" for p in ("mysql", "mariadb")
                    for n in ("charset", "default_charset", "collate")}
    if charset_keys & changed:
        charset = option("charset") or option("default_charset") or _server_default(
            ctx, "character_set_database", "utf8mb4")
        text = f"CONVERT TO CHARACTER SET {charset}"
        collate = option("collate")
        if collate:
            text += f" COLLATE {collate}"
        parts.append(text)
    if not parts:
        ctx.note(f"{op.describe()}: nothing changes on MySQL")
        return
    table = ctx.quote(op.table_name)
    if op.schema:
        table = f"{ctx.quote(op.schema)}.{table}"
    ctx.operations.execute(f"ALTER TABLE {table} {', '.join(parts)}")


@ddl._run.register
def _set_table_schema(op: ops.SetTableSchema, ctx: Context) -> None:
    if ctx.family == "sqlite":
        raise GitmigError(
            f"table {op.table_name}: SQLite has no schemas to move it between (only attached "
            "databases); copy it with ops.RunSQL in a migration from "
            "`gitmig makemigrations --empty`"
        )
    if ctx.family == "postgresql":
        source = ctx.quote(op.table_name)
        if op.schema:
            source = f"{ctx.quote(op.schema)}.{source}"
        target = op.new_schema or _current(ctx, "current_schema()", "public")
        ctx.operations.execute(f"ALTER TABLE {source} SET SCHEMA {ctx.quote(target)}")
        return
    old = op.schema or _current(ctx, "DATABASE()", "")
    new = op.new_schema or _current(ctx, "DATABASE()", "")
    ctx.operations.execute(
        f"RENAME TABLE {ctx.quote(old)}.{ctx.quote(op.table_name)} "
        f"TO {ctx.quote(new)}.{ctx.quote(op.table_name)}"
    )


def _current(ctx: Context, expression: str, fallback: str) -> str:
    if ctx.connection is None or ctx.as_sql:
        return fallback
    return str(ctx.connection.execute(sa.text(f"SELECT {expression}")).scalar() or fallback)
