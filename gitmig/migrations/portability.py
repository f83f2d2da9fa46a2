"""Columns the configured database cannot create, found when the migration is written.

`create_all` itself fails on some models for some databases (MySQL needs a length for
VARCHAR; PostgreSQL before 18 has no VIRTUAL generated columns). A migration made from
such models would fail later, in `migrate`; makemigrations says so at once instead,
naming the column, by compiling each new or changed column for that database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from gitmig.ops import AddColumn, AlterColumn, CreateTable, Operation
from gitmig.schema.state import Column


def configured_dialect(url: str | None) -> Any:
    """The dialect of a database URL, without connecting; None if it cannot be loaded."""
    if not url:
        return None
    try:
        import sqlalchemy as sa

        return sa.engine.make_url(url).get_dialect()()
    except Exception:
        return None


def _columns(operations: Sequence[Operation]) -> Iterator[tuple[str, str | None, Column]]:
    for op in operations:
        if isinstance(op, CreateTable):
            for col in op.table.columns:
                yield op.table.name, op.table.schema, col
        elif isinstance(op, AddColumn):
            yield op.table_name, op.schema, op.column
        elif isinstance(op, AlterColumn) and isinstance(op.type_, str):
            yield op.table_name, op.schema, Column(op.column_name, op.type_)


def unbuildable_columns(
    operations: Sequence[Operation],
    dialect: Any,
    refused: Callable[[Column], str | None] | None = None,
) -> list[str]:
    """One warning per column this dialect cannot create, naming table.column.

    `refused` is the database's own word on a column that compiles but that the server
    refuses (the configured backend's `refused_column`)."""
    if dialect is None:
        return []
    import sqlalchemy as sa
    from sqlalchemy.schema import CreateColumn
    from sqlalchemy.schema import CreateTable as CreateTable_

    from gitmig.errors import GitmigError
    from gitmig.schema import materialize

    name = "MariaDB/MySQL" if dialect.name in ("mysql", "mariadb") else dialect.name
    out = []
    for table, schema, col in _columns(operations):
        reason = refused(col) if refused is not None else None
        if reason is not None:
            out.append(f"{table}.{col.name}: {name} (the configured database) cannot create "
                       f"this column: {reason}; {_FAILS}")
            continue
        try:
            column = materialize.column(col)
            sa.Table(table, sa.MetaData(), column, schema=schema)
            CreateColumn(column).compile(dialect=dialect)
        except (sa.exc.CompileError, GitmigError) as exc:
            out.append(f"{table}.{col.name}: {name} (the configured database) cannot create "
                       f"this column: {_reason(exc)}; {_FAILS}")
        except sa.exc.SQLAlchemyError:
            continue  # not a question of what the database can do: migrate will say
    for op in operations:  # what only the whole table shows (a composite autoincrement key)
        if isinstance(op, CreateTable) and not any(w.startswith(f"{op.table.name}.")
                                                   for w in out):
            try:
                whole = materialize.table(op.table, indexes=False, constraints=False)
                CreateTable_(whole).compile(dialect=dialect)
            except (sa.exc.CompileError, GitmigError) as exc:
                out.append(f"{op.table.name}: {name} (the configured database) cannot create "
                           f"this table: {_reason(exc)}; {_FAILS}")
            except sa.exc.SQLAlchemyError:
                continue
    return out


_FAILS = "migrate will fail there, as create_all would, until the models say otherwise"


def _reason(exc: Exception) -> str:
    return str(exc).splitlines()[0].rstrip(".")
