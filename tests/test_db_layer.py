"""gitmig.db is the layer under git and the commands: it never reaches up into them."""

from __future__ import annotations

import ast
from pathlib import Path

import gitmig

DB = Path(gitmig.__file__).parent / "db"
ABOVE = ("gitmig.git", "gitmig.actions", "gitmig.commands", "gitmig.hooks", "gitmig.resolve",
         "gitmig.cli")


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at the top or inside a function."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return names


def test_the_db_layer_imports_nothing_from_the_layers_above() -> None:
    files = sorted(DB.rglob("*.py"))
    assert DB / "executor.py" in files and DB / "backends" / "base.py" in files
    wrong = [f"{f.relative_to(DB)}: {name}" for f in files for name in _imports(f)
             if name.startswith(ABOVE)]
    assert wrong == []


def test_no_database_name_is_tested_outside_the_backends() -> None:
    """What differs per database lives in its backend class (gitmig.db.backends)."""
    found = []
    for f in sorted(DB.glob("*.py")):
        for number, line in enumerate(f.read_text().splitlines(), 1):
            if "family ==" in line or "dialect.name ==" in line:
                found.append(f"{f.name}:{number}: {line.strip()}")
    assert found == []
