"""`makemigrations --safe`: the same schema change, written in the forms that do not stop
a busy production table (what `gitmig lint` asks for).

On a table that already exists (an earlier migration created it): indexes are built and
dropped concurrently, named foreign keys and checks are added NOT VALID and validated
by a later operation, and a NOT NULL column filled with a one-off value is added
nullable, then filled and made NOT NULL. The migration is then not atomic: each step
commits on its own, so no lock is held from one to the next. The schema reached is the
same as the plain form's; only how the database gets there changes. Concurrent indexes
and NOT VALID mean something to PostgreSQL only (`concurrent` False leaves them out).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gitmig import ops
from gitmig.schema.state import Check, ForeignKey, SchemaState


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
        elif (existing and isinstance(op, ops.AddColumn) and not op.column.nullable
              and op.column.server_default is None and op.backfill is not ops.UNSET
              and not op.column.primary_key):
            out.append(ops.AddColumn(op.table_name, replace(op.column, nullable=True),
                                     schema=op.schema, foreign_keys=op.foreign_keys))
            out.append(ops.AlterColumn(op.table_name, op.column.name, nullable=False,
                                       backfill=op.backfill, schema=op.schema))
            atomic = False
        else:
            out.append(op)
    return out, atomic
