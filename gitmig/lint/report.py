"""Findings as the user reads them: grouped by migration and operation as text, as JSON,
or as GitHub Actions annotations on the migration file's line."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from gitmig.lint.model import SEVERITY_RANK, Finding

STYLES = {"error": "red", "warning": "yellow", "notice": "cyan"}


def counts(findings: Sequence[Finding]) -> str:
    parts = []
    for severity in SEVERITY_RANK:
        n = sum(1 for f in findings if f.severity == severity)
        parts.append(f"{n} {severity}{'' if n == 1 else 's'}")
    return ", ".join(parts)


def lines(findings: Sequence[Finding], show_database: bool) -> Iterable[tuple[str, str | None]]:
    """(text, style) lines: a heading per migration, then per operation its findings."""
    migration = operation = None
    for f in findings:
        if (f.app, f.migration) != migration:
            migration, operation = (f.app, f.migration), None
            yield "", None
            yield f"{f.label}  ({f.path})", "bold"
        if f.operation != operation:
            operation = f.operation
            at = f"  (line {f.line})" if f.line else ""
            yield f"  {f.operation or 'the whole migration'}{at}", None
        on = f" [{f.database.replace(',', ', ')}]" if show_database else ""
        allowed = f" (allowed: {f.allowed})" if f.allowed is not None else ""
        yield f"    {f.severity} {f.rule}{on}: {f.message}{allowed}", STYLES[f.severity]
        yield f"      safe: {f.safe}", "dim"


def as_json(result: Any, findings: Sequence[Finding]) -> dict[str, Any]:
    return {
        "scope": result.scope,
        "databases": result.databases,
        "running_code": result.running,
        "migrations": [m.label for m in result.migrations],
        "findings": [f.as_json() for f in findings],
    }


def github(findings: Sequence[Finding]) -> list[str]:
    """`::error file=...,line=...,title=...::message` lines for GitHub Actions."""
    level = {"error": "error", "warning": "warning", "notice": "notice"}
    out = []
    for f in findings:
        where = f"file={_escape_property(f.path)}" + (f",line={f.line}" if f.line else "")
        title = _escape_property(f"gitmig lint {f.rule}")
        text = _escape_data(f"{f.message}. Safe: {f.safe}")
        out.append(f"::{level[f.severity]} {where},title={title}::{text}")
    return out


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def rule_table() -> list[tuple[str, str, str, str, str]]:
    """(id, severity, databases, group, title) of every rule, for `gitmig lint --rules`."""
    from gitmig.lint.engine import all_rules

    return [(r.id, r.severity, ", ".join(sorted(r.databases)) if r.databases else "all",
             r.group, r.title) for r in all_rules()]
