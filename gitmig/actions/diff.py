"""The schema change between two snapshots' models, as the operations makemigrations writes.

A report, not a migration: nothing is asked (renames are never guessed) and a new NOT NULL
column without a default is shown without a value for existing rows rather than refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gitmig import ops
from gitmig.git.snapshot import Snapshot, models_states
from gitmig.migrations import autodetector
from gitmig.migrations.questioner import Questioner
from gitmig.schema.state import Column, Table


class ReportQuestioner(Questioner):
    """Answers nothing and refuses nothing: every change is reported as it is."""

    def ask_backfill(self, table: Table, column: Column) -> Any:
        return ops.UNSET

    def ask_move(self, table: Table, to_app: str) -> bool:
        return True


@dataclass
class SchemaDiff:
    before: Snapshot
    after: Snapshot
    changes: dict[str, list[ops.Operation]]  # app -> operations, apps without changes left out


def between(before: Snapshot, after: Snapshot) -> SchemaDiff:
    """Every app configured on either side; an app missing on one side has no tables there."""
    apps = list(dict.fromkeys([*before.layout.apps, *after.layout.apps]))
    old, new = models_states([before, after], missing_is_empty=True)
    detected = autodetector.detect(old, new, apps, ReportQuestioner())
    return SchemaDiff(before, after, {app: c.operations for app, c in detected.items()})


def kind_of(op: ops.Operation) -> str:
    """'+' adds to the schema, '-' loses data, '~' changes what is there."""
    if op.destructive:
        return "-"
    if isinstance(op, (ops.CreateTable, ops.AddColumn, ops.CreateIndex, ops.AddConstraint)):
        return "+"
    return "~"


def to_json(diff: SchemaDiff) -> dict[str, Any]:
    def side(s: Snapshot) -> dict[str, Any]:
        return {"label": s.label, "kind": s.kind, "commit": s.commit}

    return {
        "from": side(diff.before),
        "to": side(diff.after),
        "changes": {
            app: [
                {
                    "operation": type(op).__name__,
                    "description": op.describe(),
                    "source": op.source().flat(),
                    "destructive": op.destructive,
                }
                for op in operations
            ]
            for app, operations in diff.changes.items()
        },
    }
