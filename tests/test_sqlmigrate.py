"""`gitmig sqlmigrate`: the SQL of one migration, printed, runnable as printed."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project
from .schema_compare import assert_same_schema, reflected_schema, scratch_database
from .test_migrate import IRREVERSIBLE, POST, database_state, error, make, migrate, models
from .test_migrate import two_migrations as _two_migrations


def two_migrations(project: Project) -> None:
    _two_migrations(project)


def sqlmigrate(project: Project, *args: str) -> str:
    result = project.gitmig("sqlmigrate", *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def test_sql_for_each_dialect_without_a_database(project: Project) -> None:
    two_migrations(project)
    before = project.snapshot()

    assert sqlmigrate(project, "blog", "0002", "--dialect", "sqlite") == (
        "-- Apply blog.0002_post_add_slug (sqlite)\n"
        "BEGIN;\n\n"
        "-- Add column slug to post\n"
        "ALTER TABLE post ADD COLUMN slug VARCHAR(50);\n\n"
        "COMMIT;\n"
    )
    assert sqlmigrate(project, "blog", "0002", "--dialect", "postgresql", "--backwards") == (
        "-- Unapply blog.0002_post_add_slug (postgresql)\n"
        "BEGIN;\n\n"
        "-- Undo: Add column slug to post\n"
        "ALTER TABLE post DROP COLUMN slug;\n\n"
        "COMMIT;\n"
    )
    assert sqlmigrate(project, "blog", "0001_initial", "--dialect", "mysql") == (
        "-- Apply blog.0001_initial (mysql)\n\n"
        "-- Create table post\n"
        "CREATE TABLE post (\n"
        "    id INTEGER NOT NULL AUTO_INCREMENT,\n"
        "    title VARCHAR(200) NOT NULL,\n"
        "    PRIMARY KEY (id)\n"
        ");\n"
    )
    assert project.snapshot() == before  # not even a database file


RICH = '''"""Everything at once, to run the printed SQL."""
import sqlalchemy as sa

from gitmig import ops


def fill(connection):
    pass


parents = ["0001_initial"]
operations = [
    ops.CreateTable(
        "tag",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("a", "b", name="tag_kind"), nullable=False),
        sa.Column("label", sa.String(length=30), nullable=False, server_default="50% off"),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.UniqueConstraint("post_id", "label"),
        sa.Index("ix_tag_label", "label"),
    ),
    ops.AddColumn("post", sa.Column("views", sa.Integer(), nullable=False), backfill=0),
    ops.AlterColumn("post", "title", type_=sa.String(length=300)),
    ops.RunSQL("INSERT INTO post (id, title, views) VALUES (1, 'a: 100%', 3)",
               reverse_sql="DELETE FROM post WHERE id = 1"),
    ops.RunPython(fill, fill),
    ops.DropConstraint("tag", type_="unique", columns=["post_id", "label"]),
    ops.AlterTableComment("post", "posts"),
]
'''


def run_script(url: str, sql: str) -> None:
    """Run printed SQL as a person would paste it: statement by statement."""
    statements = [s.strip() for s in re.split(r";\s*\n", sql) if s.strip()]
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            cursor = raw.cursor()  # type: ignore[union-attr]
            for statement in statements:
                body = "\n".join(line for line in statement.splitlines()
                                 if not line.startswith("--")).strip()
                if body:
                    cursor.execute(body)
    finally:
        engine.dispose()


@pytest.mark.slow
def test_printed_sql_makes_what_migrate_makes(project: Project, database_url: str) -> None:
    models(project, POST)
    make(project)
    project.write("blog/migrations/0002_rich.py", RICH)
    dialect = sa.engine.make_url(database_url).get_backend_name()

    with scratch_database(database_url) as by_hand:
        for name in ("0001", "0002"):
            run_script(by_hand, sqlmigrate(project, "blog", name, "--dialect", dialect))
        migrate(project, database_url)
        assert_same_schema(reflected_schema(by_hand), reflected_schema(database_url))
        engine = sa.create_engine(by_hand, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT title, views FROM post")).all() == [
                ("a: 100%", 3)]
        engine.dispose()

        back = sqlmigrate(project, "blog", "0002", "--dialect", dialect, "--backwards")
        assert "-- Undo: Run Python: fill\n-- Run Python: fill (Python code, runs only under " \
            "`gitmig migrate`)" in back
        run_script(by_hand, back)
        migrate(project, database_url, "blog", "0001")
        assert_same_schema(reflected_schema(by_hand), reflected_schema(database_url))


RENAMED = '''"""Rename a column with an unnamed unique constraint, then drop the constraint."""
from gitmig import ops

parents = ["0001_initial"]
operations = [
    ops.RenameColumn("post", "title", "heading"),
]
'''
DROP_UNIQUE = '''"""Drop it."""
from gitmig import ops

parents = ["0002_rename"]
operations = [
    ops.DropConstraint("post", type_="unique", columns=["heading"]),
]
'''


def test_names_of_unnamed_constraints_come_from_the_database(
    project: Project, database_url: str
) -> None:
    models(project, POST.replace("sa.String(200))", "sa.String(200), unique=True)"))
    make(project)
    project.write("blog/migrations/0002_rename.py", RENAMED)
    project.write("blog/migrations/0003_drop_unique.py", DROP_UNIQUE)
    migrate(project, database_url, "blog", "0002")
    before = database_state(database_url)
    dialect = sa.engine.make_url(database_url).get_backend_name()

    live = sqlmigrate(project, "blog", "0003", "--database", database_url)
    guessed = sqlmigrate(project, "blog", "0003", "--dialect", dialect)

    if dialect == "postgresql":
        # The database kept the name it gave when the column was still called title.
        assert "ALTER TABLE post DROP CONSTRAINT post_title_key;" in live
        assert "ALTER TABLE post DROP CONSTRAINT post_heading_key;" in guessed
    elif dialect == "mysql":
        assert "ALTER TABLE post DROP INDEX title;" in live
        assert "ALTER TABLE post DROP INDEX heading;" in guessed
    else:
        assert "CREATE TABLE _alembic_tmp_post" in live
    if dialect != "sqlite":
        assert "by default" not in live
        assert "is the name" in guessed and "gives an unnamed unique constraint" in guessed
    assert database_state(database_url) == before


def test_bad_input(project: Project) -> None:
    models(project, POST)
    make(project)
    project.write("blog/migrations/0002_touch.py", IRREVERSIBLE)
    assert error(project.gitmig("sqlmigrate", "blog", "0002", "--backwards")) == (
        "gitmig: error: cannot unapply blog.0002_touch: operation 1 (Run SQL: UPDATE post "
        "SET title = 'x') has no reverse, so the migration is irreversible; nothing was "
        "changed. Give it a reverse (reverse_sql= or a reverse function) to go back past it")
    assert error(project.gitmig("sqlmigrate", "blog", "0042")).startswith(
        "gitmig: error: app 'blog' has no migration '0042'")
    assert error(project.gitmig("sqlmigrate", "shop", "0001")).startswith(
        "gitmig: error: unknown app 'shop'")
    assert error(project.gitmig("sqlmigrate", "blog", "0001", "--dialect", "oracle")).startswith(
        "gitmig: error: Invalid value for '--dialect'")


def _on_terminal(args: list[str], cwd: Path) -> str:
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120",
           "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gitmig", *args], cwd=cwd, env=env,
                            stdin=secondary, stdout=secondary, stderr=secondary)
    os.close(secondary)
    output = b""
    try:
        while True:
            ready, _, _ = select.select([primary], [], [], 30)
            if not ready:
                break
            try:
                chunk = os.read(primary, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    return output.decode(errors="replace")


def test_highlighted_on_a_terminal_plain_when_piped(project: Project) -> None:
    two_migrations(project)
    args = ["sqlmigrate", "blog", "0002", "--dialect", "sqlite"]

    piped = sqlmigrate(project, *args[1:])
    shown = _on_terminal(args, project.root)

    assert "\x1b[" not in piped
    assert "\x1b[" in shown
    assert re.sub(r"\x1b\[[0-9;]*m", "", shown).replace("\r\n", "\n").strip() == piped.strip()
