"""MariaDB/MySQL: changes that copy the whole table (ALGORITHM=COPY), blocking writes for
as long as the copy takes, and VARCHAR without a length. Shown on a real server
(tests/test_lint_mysql.py): ALGORITHM=INPLACE is refused for what is flagged."""

from __future__ import annotations

from collections.abc import Iterator

from gitmig import ops
from gitmig.lint import typechange
from gitmig.lint.model import Context, Hit, rule
from gitmig.schema.state import ForeignKey

MY = ("mysql",)
COPY = "MariaDB/MySQL table copies"
SAFE_COPY = ("run it when writes can wait (a maintenance window), or with an online schema "
             "change tool (pt-online-schema-change, gh-ost)")


def _copies(ctx: Context) -> str | None:
    op = ctx.op
    if isinstance(op, ops.AlterColumn) and op.type_ is not ops.UNSET:
        old = ctx.before.table(op.key).column(op.column_name).type
        change = typechange.change(old, op.type_, "mysql")
        if old != op.type_ and not (change.widens_string() and change.both_strings
                                    and _same_length_bytes(change)):
            return f"changing the type of {op.key}.{op.column_name} copies the table"
    if isinstance(op, ops.AddConstraint) and isinstance(op.constraint, ForeignKey):
        return f"adding a foreign key to {op.key} copies the table (foreign_key_checks on)"
    if isinstance(op, ops.DropPrimaryKey):
        return f"dropping the primary key of {op.key} copies the table"
    if isinstance(op, ops.CreatePrimaryKey):
        return f"adding a primary key to {op.key} rebuilds the table"
    return None


def _same_length_bytes(change: typechange.Change) -> bool:
    """VARCHAR grows in place while its length prefix stays one byte (up to 255 bytes,
    63 characters of utf8mb4) or was two bytes already."""
    old, new = change.old.length, change.new.length
    if old is None or new is None or isinstance(change.new, typechange.sa.Text):
        return False
    return (new * 4 <= 255) or (old * 4 > 255)


@rule("mysql-table-copy", "warning", COPY,
      "a change that cannot run INSTANT or INPLACE", databases=MY)
def table_copy(ctx: Context) -> Iterator[Hit]:
    """ALGORITHM=COPY rebuilds the table row by row and blocks writes until it ends."""
    if getattr(ctx.op, "key", None) is None or not ctx.existing(ctx.op.key):  # type: ignore[attr-defined]
        return
    why = _copies(ctx)
    if why:
        yield Hit(why + ", blocking writes until it ends", SAFE_COPY)


def _strings_without_length(op: ops.Operation) -> list[str]:
    if isinstance(op, ops.CreateTable):
        cols = [(op.table.name, c.name, c.type) for c in op.table.columns]
    elif isinstance(op, ops.AddColumn):
        cols = [(op.table_name, op.column.name, op.column.type)]
    elif isinstance(op, ops.AlterColumn) and op.type_ is not ops.UNSET:
        cols = [(op.table_name, op.column_name, op.type_)]
    else:
        return []
    out = []
    for table, column, source in cols:
        t = typechange.type_of(source, "mysql")
        if type(t) in (typechange.sa.String, typechange.sa.Unicode) and t.length is None:
            out.append(f"{table}.{column}")
    return out


@rule("mysql-string-no-length", "error", COPY, "a String without a length", databases=MY)
def string_no_length(ctx: Context) -> Iterator[Hit]:
    """MySQL and MariaDB have no VARCHAR without a length: the DDL is refused."""
    for where in _strings_without_length(ctx.op):
        yield Hit(f"column {where} is a String without a length, which MySQL refuses",
                  "give it a length (sa.String(200)), or use sa.Text")
