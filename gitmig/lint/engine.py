"""The rules run over migrations in order: each operation sees the state before and after
it, and what is new (created by migrations not yet in production) is never judged as a
busy table. Findings come back in file order, silenced ones marked with their reason."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from gitmig.config import LintSettings
from gitmig.db.backends import backend_for
from gitmig.errors import GitmigError
from gitmig.lint import rules_common, rules_mysql, rules_postgresql, rules_sqlite
from gitmig.lint.model import RULES, Context, Finding, Hit, Migration, Rule, RunningModels
from gitmig.lint.silence import FileNotes, read
from gitmig.ops import (
    AddColumn,
    AddConstraint,
    CreateTable,
    RenameTable,
    ValidateConstraint,
    table_key,
)

LOADED = (rules_common, rules_postgresql, rules_mysql, rules_sqlite)  # they register rules


def all_rules() -> list[Rule]:
    """Every rule, in the order the README's table lists them."""
    return list(RULES.values())


def check_settings(settings: LintSettings) -> None:
    """Every rule id named in [tool.gitmig.lint] must exist: a typo must not silence."""
    named = [*settings.allow, *settings.block, *(r for r, _ in settings.severity)]
    for rid in named:
        if rid not in RULES:
            raise GitmigError(
                f"[tool.gitmig.lint] names rule {rid!r}, which does not exist",
                hint="`gitmig lint --rules` lists the rules",
            )


def judge(
    migrations: Sequence[Migration],
    database: str,
    *,
    settings: LintSettings | None = None,
    running: RunningModels | None = None,
    unreleased: bool = True,
    notes: dict[str, FileNotes] | None = None,
) -> list[Finding]:
    """Findings for `migrations` (in apply order) on `database` (a backend name).

    `unreleased`: the migrations are not in production yet (this branch's, or those not
    applied), so tables they create are new; otherwise only a table created earlier in
    the same migration is.
    """
    settings = settings or LintSettings()
    check_settings(settings)
    backend = backend_for(database)
    rules = [r for r in RULES.values() if r.concerns(backend)]
    severity = dict(settings.severity)
    found: list[Finding] = []
    created: set[str] = set()
    added: set[tuple[str, str]] = set()
    unvalidated: set[tuple[str, str]] = set()
    for m in migrations:
        note = (notes or {}).get(m.path) or read(m.path)
        new, columns = set(created), set(added)
        state = m.before
        contexts = []
        for index, op in enumerate(m.operations):
            after = op.state_forwards(state, m.app)
            contexts.append(Context(m, index, state, after, backend, frozenset(new), running,
                                    frozenset(columns), frozenset(unvalidated)))
            new |= _created(op)
            _track_validation(op, unvalidated)
            if isinstance(op, AddColumn):
                columns.add((op.key, op.column.name))
            state = after
        whole = Context(m, -1, m.before, state, backend, frozenset(created), running,
                        frozenset(added))
        for r in rules:
            targets: Iterable[Context] = [whole] if r.whole_migration else contexts
            for ctx in targets:
                for hit in r.check(ctx):
                    found.append(_finding(r.id, severity.get(r.id, r.severity), m, ctx, hit,
                                          backend.name, note, settings))
        if unreleased:
            created |= new
            added |= columns
    return sorted(found, key=lambda f: (_order(migrations, f), not f.operation, f.line or 0,
                                        f.database, f.rule))


def _track_validation(op: object, unvalidated: set[tuple[str, str]]) -> None:
    if isinstance(op, AddConstraint) and not op.validate and op.constraint.name:
        unvalidated.add((op.key, op.constraint.name))
    elif isinstance(op, ValidateConstraint):
        unvalidated.discard((op.key, op.name))


def _created(op: object) -> set[str]:
    if isinstance(op, CreateTable):
        return {op.key}
    if isinstance(op, RenameTable):
        return {table_key(op.new, op.schema)}
    return set()


def _order(migrations: Sequence[Migration], f: Finding) -> int:
    for i, m in enumerate(migrations):
        if m.app == f.app and m.name == f.migration:
            return i
    return len(migrations)


def _finding(rule: str, severity: str, m: Migration, ctx: Context, hit: Hit, database: str,
             note: FileNotes, settings: LintSettings) -> Finding:
    finding = Finding(
        rule=rule, severity=severity, app=m.app, migration=m.name, path=m.path,
        line=note.line_of(ctx.index),
        operation=ctx.op.describe() if ctx.index >= 0 else "",
        message=hit.message, safe=hit.safe, database=database,
    )
    reason = note.allowed(rule, ctx.index)
    if reason is None and rule in settings.allow:
        reason = "allowed in [tool.gitmig.lint]"
    return replace(finding, allowed=reason) if reason is not None else finding


def merged(findings: Sequence[Finding]) -> list[Finding]:
    """One finding for what several databases say alike (`database` names them all,
    comma-separated), in the order first seen."""
    out: dict[tuple[object, ...], Finding] = {}
    for f in findings:
        key = (f.rule, f.app, f.migration, f.line, f.operation, f.message, f.allowed)
        seen = out.get(key)
        out[key] = f if seen is None else replace(seen, database=f"{seen.database},{f.database}")
    return list(out.values())
