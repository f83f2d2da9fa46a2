"""A project for fleet tests: one app, `blog`, with a few small migrations, and helpers to
read what each target of a fleet holds (history rows, the post table's columns)."""

from __future__ import annotations

import sqlite3
import textwrap
from pathlib import Path

import sqlalchemy as sa

from .conftest import BASE, Project

HEAD = '''"""{doc}"""
import sqlalchemy as sa
from gitmig import ops

parents = {parents}
operations = [
    {op},
]
'''


def fleet_project(root: Path, fleets: str, migrations: int = 3) -> Project:
    """pyproject.toml with `fleets` (TOML text of [tool.gitmig.fleets.*] tables) and
    `migrations` migrations: 0001 creates table post, each later one adds a column."""
    p = Project(root)
    p.write("pyproject.toml", '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n'
            '[tool.gitmig.apps]\nblog = "blog.models"\n\n' + textwrap.dedent(fleets))
    p.write("blog/__init__.py", "")
    p.write("blog/models.py", BASE)
    names = migration_names(migrations)
    for i, name in enumerate(names):
        if i == 0:
            op = 'ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True))'
        else:
            op = f'ops.AddColumn("post", sa.Column("c{i + 1}", sa.Integer(), nullable=True))'
        parents = [names[i - 1]] if i else []
        p.write(f"blog/migrations/{name}.py",
                HEAD.format(doc=name, parents=repr(parents), op=op))
    return p


def migration_names(count: int) -> list[str]:
    return ["0001_initial"] + [f"{i:04d}_post_add_c{i}" for i in range(2, count + 1)]


def state(url: str, schema: str | None = None, conn: sa.Connection | None = None
          ) -> tuple[list[str], list[str]]:
    """(the history's names, in order; the post table's added columns), read directly
    (on `conn` when given: many schemas of one database on one connection)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.exists():
            return [], []
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
            rows = ([r[0] for r in conn.execute("SELECT name FROM gitmig_migrations "
                                                "ORDER BY name")]
                    if "gitmig_migrations" in tables else [])
            columns = ([r[1] for r in conn.execute("PRAGMA table_info(post)")]
                       if "post" in tables else [])
        return rows, [c for c in columns if c != "id"]
    if conn is None:
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as own:
                return state(url, schema, own)
        finally:
            engine.dispose()
    inspector = sa.inspect(conn)
    rows: list[str] = []
    if inspector.has_table("gitmig_migrations", schema=schema):
        table = sa.table("gitmig_migrations", sa.column("name"), schema=schema)
        rows = [r[0] for r in conn.execute(sa.select(table.c.name).order_by(table.c.name))]
    columns = ([c["name"] for c in inspector.get_columns("post", schema=schema)]
               if inspector.has_table("post", schema=schema) else [])
    conn.rollback()
    return rows, [c for c in columns if c != "id"]


def assert_all_consistent(targets: list[tuple[str, str | None]], count: int) -> None:
    """assert_consistent(complete=True) for many targets, one connection per database."""
    by_url: dict[str, list[str | None]] = {}
    for url, schema in targets:
        by_url.setdefault(url, []).append(schema)
    for url, schemas in by_url.items():
        if url.startswith("sqlite:///"):
            for schema in schemas:
                assert_consistent(url, schema, count, complete=True)
            continue
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                for schema in schemas:
                    assert_consistent(url, schema, count, complete=True, conn=conn)
        finally:
            engine.dispose()


def assert_consistent(url: str, schema: str | None, count: int, complete: bool,
                      conn: sa.Connection | None = None) -> int:
    """The history is a prefix of the migrations, each recorded once, and the table has
    exactly the columns of the recorded ones; `complete`: all of them. Returns rows."""
    rows, columns = state(url, schema, conn)
    names = migration_names(count)
    assert rows == names[:len(rows)], (url, schema, rows)
    assert columns == [f"c{i}" for i in range(2, len(rows) + 1)], (url, schema, rows, columns)
    if complete:
        assert len(rows) == count, (url, schema, rows)
    return len(rows)
