"""Two schema states in, the operations that turn one into the other out.

Knows nothing of files, git or databases: it compares states and asks its questioner
about anything a person must decide (renames, values for existing rows).
The order it emits is safe to run as is: renames, enum types whose values change, foreign
keys into tables whose primary key moves (dropped), new tables (referenced ones first),
changes to kept tables (constraints that go away before the columns they use, the old key
before the new one, new columns before constraints that need them), foreign keys that
needed those changes, dropped tables last (referencing ones first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.migrations.questioner import Questioner
from gitmig.schema import materialize
from gitmig.schema.state import (
    Column,
    Constraint,
    ForeignKey,
    SchemaState,
    Table,
    constraint_identity,
)


@dataclass
class AppChanges:
    operations: list[ops.Operation] = field(default_factory=list)
    depends_on: set[str] = field(default_factory=set)  # other apps referenced by new FKs
    warnings: list[str] = field(default_factory=list)


def detect(
    before: SchemaState,
    after: SchemaState,
    apps: Iterable[str],
    questioner: Questioner | None = None,
) -> dict[str, AppChanges]:
    """Operations per app that take `before` to `after`; apps without changes are left out."""
    questioner = questioner or Questioner()
    apps = list(apps)
    before, moves = _moves(before, after, apps, questioner)
    diffs = [_AppDiff(before, after, app, questioner) for app in apps]
    # Every app's renames are settled before anything else is asked, so a --rename that
    # matches nothing is reported as such, not as a question about the column it left behind.
    for diff in diffs:
        diff.renames()
    questioner.refuse_unused_renames()
    result = {}
    for diff in diffs:
        changes = diff.run()
        if changes.operations:
            result[diff.app] = changes
    _hand_over(result, moves)
    return result


# -- tables moving between apps -----------------------------------------------------------


def _moves(
    before: SchemaState, after: SchemaState, apps: list[str], q: Questioner
) -> tuple[SchemaState, list[tuple[Table, str]]]:
    """Tables whose app changed and that the user says moved (asked, or --move).

    Returns `before` with each moved table already in its new app, so the apps' diffs
    see it as kept there (and alter it if it also changed), and each moved table as it
    was with the app it goes to. Dropping it from one app and creating it in the other
    would lose its rows.
    """
    moved: list[tuple[Table, str]] = []
    for key, table in sorted(after.tables.items()):
        old = before.get(key)
        if old is None or old.app == table.app or not {old.app, table.app} & set(apps):
            continue
        missing = [a for a in (old.app, table.app) if a not in apps]
        if missing:
            raise GitmigError(
                f"table {key} moved from app {old.app!r} to app {table.app!r}; a move is "
                f"written in both apps: run `gitmig makemigrations {old.app} {table.app}`"
            )
        if q.move(old, table.app):
            moved.append((old, table.app))
            before = before.with_table(old.evolve(app=table.app))
    return before, moved


def _hand_over(result: dict[str, AppChanges], moved: list[tuple[Table, str]]) -> None:
    """The old app's migration lets go of each moved table; the new app's takes it in.

    Both come first in their migrations, and the new app's migration depends on the
    old app's, so a table is never in two apps, nor altered before it arrives.
    """
    for table, to_app in reversed(moved):
        out = result.setdefault(table.app, AppChanges())
        out.operations.insert(0, ops.MoveTableOut(table.name, to_app=to_app, schema=table.schema))
        into = result.setdefault(to_app, AppChanges())
        into.operations.insert(0, ops.MoveTableIn(table, from_app=table.app))
        into.depends_on.add(table.app)


def _tables(state: SchemaState, app: str) -> dict[str, Table]:
    return {k: t for k, t in state.tables.items() if t.app == app}


def _same_but_name(a: Column, b: Column) -> bool:
    return replace(a, name=b.name) == b


def _refuse_postgresql_options(old: Table, new: Table) -> None:
    """PostgreSQL table options (partitioning, inheritance, storage) are set by CREATE
    TABLE; changing them means a new table, which gitmig does not guess."""
    a, b = dict(old.options), dict(new.options)
    changed = sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k)
                     and k.startswith("postgresql_"))
    if changed:
        raise GitmigError(
            f"table {new.key}: gitmig cannot change {', '.join(changed)} of an existing "
            "table; write that change with ops.RunSQL in a migration from "
            "`gitmig makemigrations --empty`, and keep the option in the models"
        )


def _differs_beside_key(a: Column, b: Column) -> bool:
    """Primary key membership is the table's business (the key operations), not the column's."""
    return replace(a, primary_key=b.primary_key) != b


def _numbers_itself(table: Table, col: Column) -> bool:
    """The column is the table's autoincrementing key: existing rows get numbers."""
    if not col.primary_key:
        return False
    auto = materialize.table(table, indexes=False, constraints=False).autoincrement_column
    return auto is not None and auto.name == col.name


def _foreign_key_order(tables: list[Table]) -> list[Table]:
    """Referenced tables first; ties and cycles fall back to name order."""
    by_key = {t.key: t for t in tables}
    done: list[Table] = []
    seen: set[str] = set()
    visiting: set[str] = set()

    def visit(t: Table) -> None:
        if t.key in seen or t.key in visiting:
            return
        visiting.add(t.key)
        for fk in sorted(t.foreign_keys, key=repr):
            dep = by_key.get(fk.ref_table)
            if dep is not None and dep.key != t.key:
                visit(dep)
        visiting.discard(t.key)
        seen.add(t.key)
        done.append(t)

    for t in sorted(tables, key=lambda t: t.key):
        visit(t)
    return done


class _AppDiff:
    def __init__(self, before: SchemaState, after: SchemaState, app: str, q: Questioner):
        self.before = before
        self.after = after
        self.app = app
        self.q = q
        self.out = AppChanges()
        self.state = before  # the state as the emitted operations leave it
        self.former_names: dict[str, str] = {}  # new key of a renamed table -> its old name
        self.late_foreign_keys: list[tuple[Table, ForeignKey]] = []
        self.rekeyed: set[str] = set()  # kept tables whose primary key moves

    def emit(self, op: ops.Operation) -> None:
        self.state = op.state_forwards(self.state, self.app)
        self.out.operations.append(op)

    def renames(self) -> None:
        """Renamed tables, then renamed columns of every kept table: these go first."""
        old = _tables(self.before, self.app)
        self.new = _tables(self.after, self.app)
        self.removed = {k: old[k] for k in sorted(old.keys() - self.new.keys())}
        self.added = {k: self.new[k] for k in sorted(self.new.keys() - old.keys())}
        renamed = self._schema_moves(self.removed, self.added)
        renamed |= self._table_renames(self.removed, self.added)
        self.kept = sorted((old.keys() & self.new.keys()) | renamed)
        for key in self.kept:
            self._column_renames(self.state.table(key), self.new[key])

    def run(self) -> AppChanges:
        self._alter_enums()
        self._release_foreign_keys()
        self._create_tables(list(self.added.values()))
        # Renamed tables are altered with the kept ones, after new tables exist, so a new
        # foreign key of a renamed table never points at a table not created yet.
        for key in self.kept:
            self._alter_table(self.state.table(key), self.new[key])
        for table, fk in self.late_foreign_keys:
            self.emit(ops.AddConstraint(table.name, fk, schema=table.schema))
        self._drop_tables(list(self.removed.values()))
        self._note_cross_app()
        return self.out

    # -- tables ---------------------------------------------------------------------------

    def _schema_moves(self, removed: dict[str, Table], added: dict[str, Table]) -> set[str]:
        """A table of the same name in another schema, otherwise unchanged, was moved."""
        moved: set[str] = set()
        for key, old in list(removed.items()):
            new = next(
                (t for t in added.values()
                 if t.name == old.name and old.evolve(schema=t.schema) == t),
                None,
            )
            if new is None:
                continue
            self.emit(ops.SetTableSchema(old.name, old.schema, new.schema))
            del removed[key]
            del added[new.key]
            moved.add(new.key)
        return moved

    def _table_renames(self, removed: dict[str, Table], added: dict[str, Table]) -> set[str]:
        """Emit the renames asked for or confirmed; returns the new keys of renamed tables."""
        renamed: set[str] = set()
        for key, old in list(removed.items()):
            target = self.q.explicit_table_rename(old)
            new = None
            if target is not None:
                new = next((t for t in added.values() if target in (t.name, t.key)), None)
                if new is None or new.schema != old.schema:
                    raise GitmigError(
                        f"--rename {old.name}={target}: the models have no new table "
                        f"{target!r} in the schema of {old.key}; check the new name"
                    )
            else:
                for candidate in added.values():
                    if (
                        candidate.schema == old.schema
                        and frozenset(candidate.columns) == frozenset(old.columns)
                        and self.q.ask_rename_table(old, candidate)
                    ):
                        new = candidate
                        break
            if new is None:
                continue
            self.emit(ops.RenameTable(old.name, new.name, schema=old.schema))
            self.former_names[new.key] = old.name
            del removed[key]
            del added[new.key]
            renamed.add(new.key)
        return renamed

    def _create_tables(self, tables: list[Table]) -> None:
        created: set[str] = set()
        deferred: list[tuple[Table, ForeignKey]] = []
        for table in _foreign_key_order(tables):
            later = {t.key for t in tables} - created - {table.key}
            postponed = [fk for fk in table.foreign_keys if fk.ref_table in later]
            # A key into a kept table that changes in this migration (a new key column)
            # waits until that table has its final form.
            changing = [
                fk for fk in table.foreign_keys
                if fk.ref_table in self.kept
                and self.state.table(fk.ref_table) != self.new[fk.ref_table]
            ]
            self.late_foreign_keys += [(table, fk) for fk in changing]
            postponed = [fk for fk in postponed if fk not in changing]
            body = table.evolve(
                foreign_keys=table.foreign_keys - set(postponed) - set(changing)
            )
            self.emit(ops.CreateTable(body))
            created.add(table.key)
            deferred += [(table, fk) for fk in postponed]
        for table, fk in deferred:
            self.emit(ops.AddConstraint(table.name, fk, schema=table.schema))

    def _drop_tables(self, tables: list[Table]) -> None:
        order = list(reversed(_foreign_key_order(tables)))  # referencing tables first
        position = {t.key: i for i, t in enumerate(order)}
        for i, table in enumerate(order):
            # Only a cycle makes a table reference one dropped before it: break that first.
            for fk in sorted(self.state.table(table.key).foreign_keys, key=repr):
                if position.get(fk.ref_table, len(order)) < i:
                    self.emit(ops.DropConstraint.of(table.name, fk, schema=table.schema))
        for table in order:
            self.emit(ops.DropTable(table.name, schema=table.schema))

    # -- columns and constraints of a kept table --------------------------------------------

    def _alter_table(self, old: Table, new: Table) -> None:
        name, schema = new.name, new.schema
        self._rename_constraints(old, new)
        old = self._release_primary_key(self.state.table(new.key), new)
        old_cols = {c.name: c for c in old.columns}
        new_cols = {c.name: c for c in new.columns}
        dropped_cols = [c for c in old.columns if c.name not in new_cols]
        added_cols = [c for c in new.columns if c.name not in old_cols]

        old_cons = {constraint_identity(c): c for c in old.constraints}
        new_cons = {constraint_identity(c): c for c in new.constraints}
        gone = [c for i, c in old_cons.items() if new_cons.get(i) != c]
        come = [c for i, c in new_cons.items() if old_cons.get(i) != c]
        for fk in [c for c in come if isinstance(c, ForeignKey) and c.ref_table in self.rekeyed]:
            come.remove(fk)  # added once the table it points into has its new key
            self.late_foreign_keys.append((new, fk))
        old_ix = {ix.name: ix for ix in old.indexes}
        new_ix = {ix.name: ix for ix in new.indexes}
        ix_gone = [ix for n, ix in old_ix.items() if new_ix.get(n) != ix]
        ix_come = [ix for n, ix in new_ix.items() if old_ix.get(n) != ix]

        for ix in sorted(ix_gone, key=lambda i: i.name):
            self.emit(ops.DropIndex(ix.name, name, schema=schema))
        for c in sorted(gone, key=repr):
            self.emit(ops.DropConstraint.of(name, c, schema=schema))

        inline: list[Constraint] = []
        for col in added_cols:
            fks = [
                c for c in come
                if isinstance(c, ForeignKey) and c.columns == (col.name,)
            ]
            inline += fks
            backfill = ops.UNSET
            fills_itself = col.identity is not None or col.computed is not None
            if (
                not col.nullable
                and col.server_default is None
                and not _numbers_itself(new, col)
                and not fills_itself
            ):
                backfill = self.q.backfill(new, col)
            self.emit(
                ops.AddColumn(name, col, schema=schema, backfill=backfill, foreign_keys=fks)
            )
        for col in new.columns:
            if col.name in old_cols and _differs_beside_key(old_cols[col.name], col):
                self._alter_column(new, old_cols[col.name], col)
        self._settle_primary_key(new)
        for col in dropped_cols:
            self.emit(ops.DropColumn(name, col.name, schema=schema))
        for c in sorted((c for c in come if c not in inline), key=repr):
            self.emit(ops.AddConstraint(name, c, schema=schema))
        for ix in sorted(ix_come, key=lambda i: i.name):
            self.emit(ops.CreateIndex.of(name, ix, schema=schema))
        if old.comment != new.comment:
            self.emit(ops.AlterTableComment(name, new.comment, schema=schema))
        if old.options != new.options:
            _refuse_postgresql_options(old, new)
            self.emit(ops.AlterTableOptions.of(name, new.options, schema=schema))

    # -- enum types ---------------------------------------------------------------------

    def _alter_enums(self) -> None:
        """A named enum whose values change is altered once, for all its columns.

        Only when every column of the models that uses the name agrees on the values;
        otherwise each column's type change says what to do.
        """
        def declared(tables: Iterable[Table]) -> dict[tuple[str | None, str], set[tuple[str, ...]]]:
            out: dict[tuple[str | None, str], set[tuple[str, ...]]] = {}
            for t in tables:
                for _, e in materialize.enum_types(t):
                    out.setdefault(materialize.enum_key(e), set()).add(tuple(e.enums))
            return out

        old = declared(t for t in self.state.tables.values() if t.app == self.app)
        new = declared(self.new.values())
        for key in sorted(old.keys() & new.keys(), key=str):
            if len(old[key]) == 1 and len(new[key]) == 1 and old[key] != new[key]:
                schema, name = key
                values = next(iter(new[key]))
                before = next(iter(old[key]))
                added = set(values) - set(before)
                renames = self._enum_renames(key, before, values)
                self.emit(ops.AlterEnum(name, values, schema=schema, renames=renames,
                                        in_place=not self._uses_values(key, added)))

    def _enum_renames(self, key: tuple[str | None, str], old: tuple[str, ...],
                      new: tuple[str, ...]) -> dict[str, str]:
        """Values gone and values come, paired as the questioner says: a rename keeps the
        rows that hold the old value (as a renamed column keeps its data)."""
        schema, name = key
        label = f"{schema}.{name}" if schema else name
        gone = [v for v in old if v not in new]
        come = [v for v in new if v not in old]
        renames: dict[str, str] = {}
        for was in gone:
            for now in come:
                if now not in renames.values() and self.q.enum_value_renamed(
                    label, name, was, now
                ):
                    renames[was] = now
                    break
        return renames

    def _uses_values(self, key: tuple[str | None, str], values: set[str]) -> bool:
        """Does a default (server-side, or for existing rows) of the models use one of
        these values of the enum?"""
        for table in self.new.values():
            for col_name, e in materialize.enum_types(table):
                if materialize.enum_key(e) != key:
                    continue
                col = table.column(col_name)
                sd = col.server_default.text if col.server_default else None
                if sd in values or col.default in values:
                    return True
        return False

    # -- names and primary keys of a kept table ----------------------------------------------

    def _rename_constraints(self, old: Table, new: Table) -> None:
        """A constraint or index that differs only by its name is renamed, not rebuilt."""
        old_cons = {constraint_identity(c): c for c in old.constraints}
        new_cons = {constraint_identity(c): c for c in new.constraints}
        gone = [c for i, c in old_cons.items() if new_cons.get(i) != c]
        come = [c for i, c in new_cons.items() if old_cons.get(i) != c]
        for c in sorted(gone, key=repr):
            table = self.state.table(new.key)
            taken = ({x.name for x in table.constraints} | {table.pk_name}) - {None}
            match = next(
                (n for n in sorted(come, key=repr)
                 if type(n) is type(c) and replace(n, name=c.name) == c and n.name not in taken),
                None,
            )
            if match is not None:
                come.remove(match)
                self.emit(ops.RenameConstraint.of(table, c, match.name))
        new_ix = {ix.name: ix for ix in new.indexes}
        old_ix = {ix.name: ix for ix in old.indexes}
        ix_come = [ix for n, ix in sorted(new_ix.items()) if old_ix.get(n) != ix]
        for ix in [ix for n, ix in sorted(old_ix.items()) if new_ix.get(n) != ix]:
            names = {i.name for i in self.state.table(new.key).indexes}
            twin = next(
                (n for n in ix_come if replace(n, name=ix.name) == ix and n.name not in names),
                None,
            )
            if twin is not None:
                ix_come.remove(twin)
                self.emit(ops.RenameIndex(new.name, ix.name, twin.name, schema=new.schema))

    def _release_foreign_keys(self) -> None:
        """Foreign keys into a table whose key moves go first, and come back last.

        A database will not drop a key (or the unique constraint behind it) that a foreign
        key depends on, and a new foreign key needs the new key to exist.
        """
        self.rekeyed = {
            key for key in self.kept
            if set(self.state.table(key).primary_key) != set(self.new[key].primary_key)
        }
        if not self.rekeyed:
            return
        # The kept tables' keys that stay are added back by _alter_table, deferred.
        for key in [*self.kept, *self.removed]:
            table = self.state.table(key)
            for fk in sorted(table.foreign_keys, key=repr):
                if fk.ref_table in self.rekeyed:
                    self.emit(ops.DropConstraint.of(table.name, fk, schema=table.schema))

    def _release_primary_key(self, old: Table, new: Table) -> Table:
        """Drop a primary key that loses a column, before anything else changes the table.

        A key that only gains columns stays until they exist (AddColumn of a key column
        takes it over); the final key is settled by _settle_primary_key.
        """
        if old.primary_key and not set(old.primary_key) <= set(new.primary_key):
            self.emit(ops.DropPrimaryKey(new.name, schema=new.schema))
        return self.state.table(new.key)

    def _settle_primary_key(self, new: Table) -> None:
        now = self.state.table(new.key)
        if set(now.primary_key) == set(new.primary_key):
            if now.pk_name != new.pk_name and new.primary_key:
                self.emit(ops.RenameConstraint.of(now, None, new.pk_name))
            return
        if now.primary_key:
            self.emit(ops.DropPrimaryKey(new.name, schema=new.schema))
        if new.primary_key:
            self.emit(ops.CreatePrimaryKey(new.name, new.primary_key, name=new.pk_name,
                                           schema=new.schema))

    def _column_renames(self, old: Table, new: Table) -> Table:
        new_names = {c.name for c in new.columns}
        old_names = {c.name for c in old.columns}
        for col in [c for c in old.columns if c.name not in new_names]:
            target = self.q.explicit_column_rename(old, col.name, self.former_names.get(old.key))
            match = None
            if target is not None:
                match = next(
                    (c for c in new.columns if c.name == target and c.name not in old_names), None
                )
                if match is None or target in self._taken(old):
                    raise GitmigError(
                        f"--rename {old.name}.{col.name}={target}: {new.key} has no new column "
                        f"{target!r} in the models; check the new name"
                    )
            else:
                for candidate in new.columns:
                    if candidate.name in old_names or candidate.name in self._taken(old):
                        continue
                    if _same_but_name(col, candidate) and self.q.ask_rename_column(
                        old, col, candidate
                    ):
                        match = candidate
                        break
            if match is None:
                continue
            self._drop_checks_naming(old, new, col.name)
            self.emit(ops.RenameColumn(old.name, col.name, match.name, schema=old.schema))
            old = self.state.table(old.key)
        return old

    def _drop_checks_naming(self, old: Table, new: Table, column: str) -> None:
        """Checks that name a renamed column and change with it go before the rename: the
        database rewrites (or, MariaDB, refuses) their text on the rename, so they could
        not be found by their old text afterwards. The new ones are added later."""
        word = re.compile(rf"\b{re.escape(column)}\b")
        for c in sorted(old.checks, key=repr):
            if (c.column == column or word.search(c.sqltext)) and c not in new.checks:
                self.emit(ops.DropConstraint.of(old.name, c, schema=old.schema))

    def _taken(self, table: Table) -> set[str]:
        return {c.name for c in self.state.table(table.key).columns}

    def _alter_column(self, table: Table, old: Column, new: Column) -> None:
        kw: dict[str, Any] = {}
        if old.type != new.type:
            kw["type_"] = new.type
        if old.nullable != new.nullable:
            kw["nullable"] = new.nullable
        if old.server_default != new.server_default:
            kw["server_default"] = new.server_default
        if old.comment != new.comment:
            kw["comment"] = new.comment
        if old.autoincrement != new.autoincrement:
            kw["autoincrement"] = new.autoincrement
        if old.identity != new.identity:
            kw["identity"] = new.identity
        if old.sequence != new.sequence:
            kw["sequence"] = new.sequence
        if old.computed != new.computed:
            # A generated column cannot be altered; its values are derived, so nothing
            # is lost by dropping it and adding it again.
            self.emit(ops.DropColumn(table.name, old.name, schema=table.schema))
            self.emit(ops.AddColumn(table.name, new, schema=table.schema))
            return
        backfill = ops.UNSET
        if kw.get("nullable") is False and new.default is not None:
            backfill = new.default
        if kw:
            self.emit(
                ops.AlterColumn(
                    table.name, new.name, schema=table.schema, backfill=backfill, **kw
                )
            )

    def _note_cross_app(self) -> None:
        for op in self.out.operations:
            fks: list[ForeignKey] = []
            if isinstance(op, ops.CreateTable):
                fks = list(op.table.foreign_keys)
            elif isinstance(op, ops.AddColumn):
                fks = list(op.foreign_keys)
            elif isinstance(op, ops.AddConstraint) and isinstance(op.constraint, ForeignKey):
                fks = [op.constraint]
            for fk in fks:
                other = self.after.app_of(fk.ref_table)
                if other and other != self.app:
                    self.out.depends_on.add(other)
                    where = next(iter(op.tables()), "?")
                    self.out.warnings.append(
                        f"{where} references {fk.ref_table} of app {other!r}, so the new "
                        f"migration of {self.app!r} depends on the migrations of {other!r}; "
                        "cross-app foreign keys are best avoided (keep models app-scoped)"
                    )
