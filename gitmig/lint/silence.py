"""`# gitmig: allow RULE-ID reason` comments, read from a migration file's tokens.

A comment silences a rule on the operation it sits in (any line of the call), and a
rule on the whole migration from anywhere in the file. The reason is kept, so that a
silenced finding listed with --show-allowed says why it was allowed.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

from gitmig.migrations.loader import assignment

ALLOW = re.compile(r"#\s*gitmig:\s*allow\s+([a-z0-9-]+)\s*(.*)$", re.I)


@dataclass
class FileNotes:
    """Where each operation of a file is, and what its comments allow."""

    spans: list[tuple[int, int]] = field(default_factory=list)  # per operation: first, last
    allows: dict[int, list[tuple[str, str]]] = field(default_factory=dict)  # line -> rules
    operations_line: int | None = None

    def line_of(self, index: int) -> int | None:
        if 0 <= index < len(self.spans):
            return self.spans[index][0]
        return self.operations_line

    def allowed(self, rule: str, index: int) -> str | None:
        """The reason `rule` is allowed on operation `index` (-1: the whole migration)."""
        if 0 <= index < len(self.spans):
            first, last = self.spans[index]
            lines = range(first, last + 1)
        else:
            lines = range(0, max(self.allows, default=0) + 1)
        for line in lines:
            for rid, reason in self.allows.get(line, []):
                if rid == rule:
                    return reason or "allowed"
        return None


def read(path: str) -> FileNotes:
    notes = FileNotes()
    try:
        source = Path(path).read_bytes()
        tree = ast.parse(source)
    except (OSError, SyntaxError, ValueError):
        return notes
    for node in tree.body:
        target, value = assignment(node)
        if target == "operations" and isinstance(value, (ast.List, ast.Tuple)):
            notes.operations_line = node.lineno
            notes.spans = [(e.lineno, e.end_lineno or e.lineno) for e in value.elts]
    try:
        tokens = list(tokenize.tokenize(io.BytesIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return notes
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            m = ALLOW.search(tok.string)
            if m:
                notes.allows.setdefault(tok.start[0], []).append(
                    (m.group(1).lower(), m.group(2).strip()))
    return notes
