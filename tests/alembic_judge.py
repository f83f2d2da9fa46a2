"""The second judge: Alembic's `compare_metadata` between a live database and the models.

tests/catalog.py compares two databases (migrated, and `create_all`'s); this asks Alembic's
autogenerate, which gitmig does not use for this, what it would change to bring the
migrated database to the models' MetaData. It sees less than the catalog oracle (no
primary keys, no check constraints, no identity details) but it is nobody's code in this
project, so the two judges fail differently. It runs in a fresh interpreter, as
`create_all_of_modules` does, so a `@compiles` hook or a cached MetaData from one test
never reaches the next.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

_COMPARE_SCRIPT = """
import importlib, json, sys
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

sys.path.insert(0, sys.argv[1])
seen = []
for module in sys.argv[3:]:
    found = importlib.import_module(module)
    for value in list(vars(found).values()):
        md = value if isinstance(value, sa.MetaData) else getattr(value, "metadata", None)
        if isinstance(md, sa.MetaData) and all(md is not m for m in seen):
            seen.append(md)
schemas = sorted({t.schema for md in seen for t in md.tables.values() if t.schema})


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name is None or name in schemas
    return not (type_ == "table" and name == "gitmig_migrations")


def flat(diffs):
    for d in diffs:
        if isinstance(d, list):  # changes to one column come as a list of tuples
            yield from flat(d)
        else:
            yield d


def default_text(value, dialect):
    arg = getattr(value, "arg", value)
    if value is None or isinstance(arg, str):
        return arg
    if hasattr(arg, "text"):
        return arg.text
    try:
        return str(arg.compile(dialect=dialect))
    except Exception:
        return repr(arg)


def describe(d, dialect):
    kind = d[0]
    out = {"kind": kind, "text": repr(d)[:600]}
    if kind == "modify_default":
        out["defaults"] = [default_text(d[5], dialect), default_text(d[6], dialect)]
    for part in d[1:]:
        table = getattr(part, "table", None)
        if isinstance(part, sa.Table):
            out["table"] = part.name
        elif isinstance(table, sa.Table):
            out["table"] = table.name
        if isinstance(part, str) and "table" not in out and kind.startswith("modify_"):
            out["table"] = d[2]
            out["column"] = d[3]
            break
    return out


engine = sa.create_engine(sys.argv[2], poolclass=sa.pool.NullPool)
with engine.connect() as conn:
    context = MigrationContext.configure(conn, opts={
        "compare_type": True,
        "compare_server_default": True,
        "include_schemas": bool(schemas),
        "include_name": include_name,
    })
    diffs = compare_metadata(context, seen if len(seen) > 1 else seen[0])
engine.dispose()
print(json.dumps([describe(d, engine.dialect) for d in flat(diffs)]))
"""

# Differences Alembic reports although the migrated database is create_all's: (kind of
# difference, database family or "*", a piece of its text) and why it is not one.
KNOWN_FALSE: dict[tuple[str, str, str], str] = {
    ("modify_default", "sqlite", "Identity("):
        "SQLite has no identity columns: create_all writes none, and Alembic compares the "
        "model's Identity() with the nothing it reflects",
    ("modify_default", "mysql", "Identity("):
        "MariaDB has no identity columns: create_all writes AUTO_INCREMENT, and Alembic "
        "compares the model's Identity() with the nothing it reflects",
}

# MariaDB echoes a default in its own spelling; Alembic compares the text as echoed with
# the model's, so these are one default each way (now() is current_timestamp(), true is 1).
_SAME_DEFAULT = {"now()": "current_timestamp()", "current_timestamp": "current_timestamp()",
                 "true": "1", "false": "0"}


def _spelled(text: str | None) -> str | None:
    if text is None:
        return None
    bare = text.strip().strip("'").lower()
    bare = _SAME_DEFAULT.get(bare, bare)
    try:
        return repr(float(bare))
    except ValueError:
        return bare


def _known_false(diff: dict[str, Any], family: str) -> bool:
    if any(kind == diff["kind"] and where in (family, "*") and piece in diff["text"]
           for kind, where, piece in KNOWN_FALSE):
        return True
    if diff["kind"] == "modify_default" and family == "mysql":
        reflected, model = diff["defaults"]
        return _spelled(reflected) == _spelled(model)
    return False


def alembic_differences(root: Path, url: str, *modules: str) -> list[dict[str, Any]]:
    """What Alembic's autogenerate would change in the database at `url` to match the
    MetaData of the project's models modules, but for what Alembic is known to report
    falsely (KNOWN_FALSE, each with its reason):

    - `Identity()` on SQLite and MariaDB: neither has identity columns, so create_all
      writes none (AUTO_INCREMENT on MariaDB) and Alembic reports the model's Identity as
      a default to add.
    - Server defaults on MariaDB that differ only in MariaDB's spelling of them
      (`current_timestamp()` for `now()`, `1` for `true()`, `0.000` for `"0"`): Alembic
      compares the echoed text with the model's; the catalog oracle compares the real thing.
    """
    done = subprocess.run(
        [sys.executable, "-c", _COMPARE_SCRIPT, str(root), url, *modules],
        capture_output=True, text=True, cwd=root, timeout=300,
    )
    if done.returncode != 0:
        raise AssertionError(f"Alembic's compare_metadata of {modules} failed:\n"
                             f"{done.stderr[-3000:]}")
    family = make_url(url).get_backend_name()
    found: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return [d for d in found if not _known_false(d, family)]


def assert_alembic_agrees(root: Path, url: str, *modules: str) -> None:
    """Fail, listing what Alembic would still change, unless it finds nothing."""
    diffs = alembic_differences(root, url, *modules)
    if diffs:
        lines = "\n".join(f"  {d['text']}" for d in diffs)
        raise AssertionError(f"Alembic's compare_metadata finds differences:\n{lines}")
