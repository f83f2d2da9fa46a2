"""Operations: what a migration does to the schema, independent of any database.

Each operation changes a schema state, says what it does in one line, offers a fragment
for the migration's name, and can produce its reverse from the state before it. How an
operation runs on a particular database lives in gitmig.db.ddl, never here.

Migration files call these with SQLAlchemy objects (sa.Column, sa.UniqueConstraint...);
they are read into state at once, so a file and a model saying the same thing are equal.

Each family lives in its own module (ops.base, ops.tables, ops.columns, ops.indexes,
ops.constraints, ops.enums, ops.special, ops.moves); this package re-exports them all.
"""

from __future__ import annotations

from gitmig.ops.base import (
    UNSET,
    Operation,
    _as_column,
    _require_column,
    _require_table,
    _schema_kw,
    _TableOperation,
    _Unset,
    render_list,
)
from gitmig.ops.columns import AddColumn, AlterColumn, DropColumn, RenameColumn, _change_words
from gitmig.ops.constraints import (
    _KIND_WORDS,
    AddConstraint,
    CreatePrimaryKey,
    DropConstraint,
    DropPrimaryKey,
    RenameConstraint,
    RenameIndex,
    _as_constraint,
)
from gitmig.ops.enums import AlterEnum
from gitmig.ops.indexes import CreateIndex, DropIndex
from gitmig.ops.moves import MoveTableIn, MoveTableOut, StateOnly
from gitmig.ops.safe import LeaveValidated, ValidateConstraint
from gitmig.ops.special import RunPython, RunSQL, _function_source
from gitmig.ops.tables import (
    AlterTableComment,
    AlterTableOptions,
    CreateTable,
    DropTable,
    RenameTable,
    SetTableSchema,
    _retarget_foreign_keys,
)

# The schema's value types, reachable as ops.X as they were before ops was split.
from gitmig.schema.state import (  # noqa: F401
    Check,
    Column,
    Constraint,
    ForeignKey,
    Index,
    SchemaState,
    ServerDefault,
    Table,
    Unique,
    constraint_identity,
    table_key,
)

__all__ = [
    "Operation",
    "CreateTable",
    "DropTable",
    "RenameTable",
    "AddColumn",
    "DropColumn",
    "AlterColumn",
    "RenameColumn",
    "CreateIndex",
    "DropIndex",
    "AddConstraint",
    "DropConstraint",
    "AlterTableComment",
    "CreatePrimaryKey",
    "DropPrimaryKey",
    "RenameConstraint",
    "RenameIndex",
    "AlterEnum",
    "AlterTableOptions",
    "SetTableSchema",
    "RunSQL",
    "RunPython",
    "UNSET",
    "MoveTableIn",
    "MoveTableOut",
    "StateOnly",
    "render_list",
    "ValidateConstraint",
    "LeaveValidated",
]

# Private helpers other modules (and older code) reach through the package.
_PRIVATE = (
    _KIND_WORDS,
    _TableOperation,
    _Unset,
    _as_column,
    _as_constraint,
    _change_words,
    _function_source,
    _require_column,
    _require_table,
    _retarget_foreign_keys,
    _schema_kw,
)
