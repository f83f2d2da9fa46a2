"""Two catalogs compared, each difference said as the operation that reconciles it.

The expected catalog is what the migrations make (run into a scratch database), the
actual one is the live database's. Each difference is written as the change someone
made to the database beyond the migrations: `+ Add index ix_post_slug on post (slug)`
when the database has an index the migrations do not make, `- Drop column post.views`
when the migrations make a column the database lacks, `~ Alter column post.title:
VARCHAR(200) -> VARCHAR(250)` when they disagree. Put that change into a migration to
keep it, or undo it in the database.

Tables only in the database that no app manages are not drift: they are listed apart as
unmanaged. Tables matching `ignore` patterns (fnmatch, as `[tool.gitmig] ignore_tables`
takes them; sequences and enum types whose names match too, as those an extension makes)
and gitmig's and Alembic's own tables are left out on both sides.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from gitmig.db.catalog import Catalog

ALWAYS_IGNORED = ("gitmig_migrations", "alembic_version")
_SIGN_ORDER = {"+": 0, "-": 1, "~": 2}


@dataclass(frozen=True)
class Difference:
    sign: str  # "+" the database has it, "-" it lacks it, "~" it has it otherwise
    kind: str  # table, column, index, constraint, type, sequence
    name: str  # "post", "post.title", the index's or constraint's name
    description: str  # "Add index ix_post_slug on post (slug)"
    expected: Any = None  # the facts as the migrations make them (None: absent)
    actual: Any = None  # ... and as the database has them
    table: str | None = None

    def line(self) -> str:
        return f"{self.sign} {self.description}"

    def as_json(self) -> dict[str, Any]:
        return {"sign": self.sign, "kind": self.kind, "table": self.table, "name": self.name,
                "description": self.description, "expected": self.expected,
                "actual": self.actual}


@dataclass
class Comparison:
    differences: list[Difference] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)  # tables no app manages

    @property
    def same(self) -> bool:
        return not self.differences


def ignored(name: str, patterns: Iterable[str]) -> bool:
    bare = name.rpartition(".")[2]
    return any(fnmatch.fnmatchcase(name, p) or fnmatch.fnmatchcase(bare, p)
               for p in (*ALWAYS_IGNORED, *patterns))


def compare(
    expected: Catalog, actual: Catalog, *, managed: Collection[str] = (),
    ignore: Iterable[str] = (), only: Collection[str] | None = None,
) -> Comparison:
    """How `actual` differs from `expected`. `managed`: the tables some app defines (a
    table only in the database is drift when managed, unmanaged otherwise). `only`: look
    at these tables alone (and no types or sequences of other tables)."""
    patterns = list(ignore)
    out = Comparison()

    def keep(name: str) -> bool:
        return not ignored(name, patterns) and (only is None or name in only)

    want = {n: t for n, t in expected["tables"].items() if keep(n)}
    have = {n: t for n, t in actual["tables"].items() if keep(n)}
    diffs: list[Difference] = []
    for name in sorted(have.keys() - want.keys()):
        if name in managed:
            diffs.append(Difference("+", "table", name, f"Create table {name}", None,
                                    have[name], name))
        else:
            out.unmanaged.append(name)
    for name in sorted(want.keys() - have.keys()):
        diffs.append(Difference("-", "table", name, f"Drop table {name}", want[name], None,
                                name))
    for name in sorted(want.keys() & have.keys()):
        diffs += _table(name, want[name], have[name])
    skipped = set(out.unmanaged) | {n for n in actual["tables"] if not keep(n)} | {
        n for n in expected["tables"] if not keep(n)}
    def free(objects: dict[str, Any]) -> dict[str, Any]:  # types, sequences: by name too
        return {n: o for n, o in objects.items() if not ignored(n, patterns)}

    if only is None:
        diffs += _types(free(expected.get("types", {})), free(actual.get("types", {})))
    diffs += _sequences(free(expected.get("sequences", {})), free(actual.get("sequences", {})),
                        skipped, only)
    out.differences = diffs
    return out


def _table(name: str, want: dict[str, Any], have: dict[str, Any]) -> list[Difference]:
    out: list[Difference] = []
    if want.get("options") != have.get("options"):
        changes = _changes(want.get("options") or {}, have.get("options") or {})
        out.append(Difference("~", "table", name, f"Alter table {name}: {changes}",
                              want.get("options"), have.get("options"), name))
    wc, hc = want["columns"], have["columns"]
    for col in sorted(hc.keys() - wc.keys()):
        out.append(Difference("+", "column", f"{name}.{col}",
                              f"Add column {name}.{col} {_column(hc[col])}", None, hc[col],
                              name))
    for col in sorted(wc.keys() - hc.keys()):
        out.append(Difference("-", "column", f"{name}.{col}", f"Drop column {name}.{col}",
                              wc[col], None, name))
    for col in sorted(wc.keys() & hc.keys()):
        if wc[col] != hc[col]:
            out.append(Difference("~", "column", f"{name}.{col}",
                                  f"Alter column {name}.{col}: {_changes(wc[col], hc[col])}",
                                  wc[col], hc[col], name))
    out += _named("index", name, want["indexes"], have["indexes"], _index)
    out += _named("constraint", name, want["constraints"], have["constraints"], _constraint)
    return out


def _named(kind: str, table: str, want: dict[str, Any], have: dict[str, Any],
           show: Any) -> list[Difference]:
    out = []
    for n in sorted(have.keys() - want.keys()):
        out.append(Difference("+", kind, n, f"Add {kind} {show(n, table, have[n])}", None,
                              have[n], table))
    for n in sorted(want.keys() - have.keys()):
        out.append(Difference("-", kind, n, f"Drop {kind} {show(n, table, want[n])}", want[n],
                              None, table))
    for n in sorted(want.keys() & have.keys()):
        if want[n] != have[n]:
            out.append(Difference("~", kind, n, f"Alter {kind} {_label(n)} on {table}: "
                                  f"{_changes(want[n], have[n])}", want[n], have[n], table))
    return out


def _types(want: dict[str, Any], have: dict[str, Any]) -> list[Difference]:
    out = []
    for n in sorted(have.keys() - want.keys()):
        out.append(Difference("+", "type", n, f"Create enum {n} {_labels(have[n])}", None,
                              have[n]))
    for n in sorted(want.keys() - have.keys()):
        out.append(Difference("-", "type", n, f"Drop enum {n}", want[n], None))
    for n in sorted(want.keys() & have.keys()):
        if want[n] != have[n]:
            out.append(Difference("~", "type", n, f"Alter enum {n}: {_labels(want[n])} -> "
                                  f"{_labels(have[n])}", want[n], have[n]))
    return out


def _sequences(want: dict[str, Any], have: dict[str, Any], skipped: set[str],
               only: Collection[str] | None) -> list[Difference]:
    def keep(seq: dict[str, Any]) -> bool:
        owner = seq.get("owned_by")
        if only is not None:
            return owner in only
        return owner not in skipped

    want = {n: s for n, s in want.items() if keep(s)}
    have = {n: s for n, s in have.items() if keep(s)}
    out = []
    for n in sorted(have.keys() - want.keys()):
        out.append(Difference("+", "sequence", n, f"Create sequence {n}", None, have[n]))
    for n in sorted(want.keys() - have.keys()):
        out.append(Difference("-", "sequence", n, f"Drop sequence {n}", want[n], None))
    for n in sorted(want.keys() & have.keys()):
        if want[n] != have[n]:
            out.append(Difference("~", "sequence", n,
                                  f"Alter sequence {n}: {_changes(want[n], have[n])}",
                                  want[n], have[n]))
    return out


def _column(facts: dict[str, Any]) -> str:
    text = str(facts.get("type") or "")
    if facts.get("not_null"):
        text += " NOT NULL"
    if facts.get("default") is not None:
        text += f" DEFAULT {facts['default']}"
    return text.strip()


def _index(name: str, table: str, facts: dict[str, Any]) -> str:
    unique = "unique " if facts.get("unique") else ""
    return f"{unique}{name} on {table} {facts.get('shape', '')}".strip()


def _constraint(name: str, table: str, facts: dict[str, Any]) -> str:
    definition = facts.get("definition") or facts.get("kind")
    if name == definition:  # an unnamed SQLite constraint is keyed by its text
        return f"on {table}: {definition}"
    return f"{name} on {table}: {definition}"


def _label(name: str) -> str:
    return name if len(name) < 60 else name[:57] + "..."


def _labels(facts: dict[str, Any]) -> str:
    return "(" + ", ".join(repr(v) for v in facts.get("labels", [])) + ")"


def _changes(want: dict[str, Any], have: dict[str, Any]) -> str:
    """`VARCHAR(200) -> VARCHAR(250)`, `NULL -> NOT NULL`, `default 'a' -> 'b'`..."""
    parts = []
    for key in sorted(want.keys() | have.keys(), key=lambda k: (k != "type", k)):
        a, b = want.get(key), have.get(key)
        if a == b:
            continue
        if key == "type":
            parts.append(f"{a} -> {b}")
        elif key == "not_null":
            parts.append(f"{'NOT NULL' if a else 'NULL'} -> {'NOT NULL' if b else 'NULL'}")
        else:
            parts.append(f"{key} {_value(a)} -> {_value(b)}")
    return "; ".join(parts)


def _value(v: Any) -> str:
    if v is None:
        return "none"
    return str(v) if not isinstance(v, (list, dict)) else repr(v)


_KIND_ORDER = {"table": 0, "column": 1, "index": 2, "constraint": 3}


def sort_key(d: Difference) -> tuple[bool, str, int, int, str]:
    """Per table: its columns, then indexes, then constraints, additions first; then the
    types and sequences of no one table."""
    return (d.table is None, d.table or "", _KIND_ORDER.get(d.kind, 4),
            _SIGN_ORDER.get(d.sign, 3), d.name)
