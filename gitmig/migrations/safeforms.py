"""`makemigrations --safe`: the same schema change, written in the forms that do not stop
a busy production table (what `gitmig lint` asks for).

On a table that already exists (an earlier migration created it): indexes are built and
dropped concurrently, named foreign keys and checks are added NOT VALID and validated
by a later operation, and a NOT NULL column filled with a one-off value is added
nullable with that value as default, then validated NOT NULL through a check. The
migration is then not atomic: each step commits on its own, so no lock is held from one
to the next. The schema reached is the same as the plain form's; only how the database
gets there changes. These forms mean something to a database with online DDL
(PostgreSQL; `concurrent` False leaves everything as it is: elsewhere the plain forms
are the cheap ones, e.g. MariaDB adds a column with a default instantly).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitmig import ops
from gitmig.schema.state import Check, ForeignKey, SchemaState, ServerDefault


def _splits(op: ops.Operation) -> bool:
    """A NOT NULL column whose one-off value for existing rows is a plain number or text."""
    return (isinstance(op, ops.AddColumn) and not op.column.nullable
            and op.column.server_default is None and not op.column.primary_key
            and not op.column.computed and not op.column.identity
            and isinstance(op.backfill, (int, float, str)) and not isinstance(op.backfill, bool))


def _not_null_in_steps(op: ops.AddColumn) -> list[ops.Operation]:
    """Added nullable with the value as its default (existing rows read it without a
    rewrite), a NOT NULL check added NOT VALID then validated without blocking writes,
    SET NOT NULL (the validated check spares its scan), then the check and the default go."""
    col = op.column
    name = f"ck_{op.table_name}_{col.name}_not_null"[:63]
    quoted = col.name if col.name.isidentifier() and col.name.islower() else f'"{col.name}"'
    check = Check(f"{quoted} IS NOT NULL", name)
    default = ServerDefault("literal", str(op.backfill))
    return [
        ops.AddColumn(op.table_name, replace(col, nullable=True, server_default=default),
                      schema=op.schema, foreign_keys=op.foreign_keys),
        ops.AddConstraint(op.table_name, check, schema=op.schema, validate=False),
        ops.ValidateConstraint(op.table_name, name, schema=op.schema),
        ops.AlterColumn(op.table_name, col.name, nullable=False, schema=op.schema),
        ops.DropConstraint(op.table_name, name, type_="check", schema=op.schema),
        ops.AlterColumn(op.table_name, col.name, server_default=None, schema=op.schema),
    ]


def rewrite(operations: Sequence[ops.Operation], before: SchemaState, *,
            concurrent: bool = True) -> tuple[list[ops.Operation], bool]:
    """(the safe operations, whether the migration may stay atomic)."""
    out: list[ops.Operation] = []
    atomic = True
    for op in operations:
        existing = getattr(op, "key", None) in before.tables
        if concurrent and existing and isinstance(op, ops.CreateIndex) and not op.concurrently:
            out.append(ops.CreateIndex.of(op.table_name, op.index, schema=op.schema,
                                          concurrently=True))
            atomic = False
        elif concurrent and existing and isinstance(op, ops.DropIndex) and not op.concurrently:
            out.append(ops.DropIndex(op.name, op.table_name, schema=op.schema,
                                     concurrently=True))
            atomic = False
        elif (concurrent and existing and isinstance(op, ops.AddConstraint) and op.validate
              and isinstance(op.constraint, (ForeignKey, Check)) and op.constraint.name):
            out.append(ops.AddConstraint(op.table_name, op.constraint, schema=op.schema,
                                         validate=False))
            out.append(ops.ValidateConstraint(op.table_name, op.constraint.name,
                                              schema=op.schema))
            atomic = False
        elif concurrent and existing and _splits(op):
            assert isinstance(op, ops.AddColumn)
            out += _not_null_in_steps(op)
            atomic = False
        else:
            out.append(op)
    return out, atomic
