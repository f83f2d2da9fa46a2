"""RunSQL of a statement PostgreSQL refuses inside a transaction block (CREATE INDEX
CONCURRENTLY, the usual way to index a busy table, in a migration written by hand): gitmig
runs that operation on its own, in autocommit, both ways, as it does for
ops.CreateIndex(concurrently=True); a word in a comment or a string does not make a
migration non-atomic; a statement it does not know to run so fails with a hint that says
what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project, blog_project
from .test_migrate import POST, make, models

pytestmark = pytest.mark.slow  # on the server

HAND = '''"""By hand."""
from gitmig import ops

parents = ["0001_initial"]
operations = [
    ops.RunSQL({sql!r}, {reverse!r}),
]
'''


def project_with(tmp_path: Path, url: str, sql: object, reverse: object) -> Project:
    project = blog_project(tmp_path / "proj", url)
    models(project, POST)
    make(project)
    project.write("blog/migrations/0002_by_hand.py", HAND.format(sql=sql, reverse=reverse))
    return project


def indexes(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return {ix["name"] for ix in sa.inspect(engine).get_indexes("post")}
    finally:
        engine.dispose()


@pytest.mark.parametrize("sql", [
    "CREATE INDEX CONCURRENTLY ix_title ON post (title)",
    ["CREATE UNIQUE INDEX CONCURRENTLY ix_title ON post (title)", "VACUUM ANALYZE post"],
])
def test_create_index_concurrently_in_runsql_applies_and_unapplies(
        tmp_path: Path, postgres_url: str, sql: object) -> None:
    project = project_with(tmp_path, postgres_url, sql, "DROP INDEX CONCURRENTLY ix_title")

    shown = project.gitmig("sqlmigrate", "blog", "0002", "--database", postgres_url)
    applied = project.gitmig("migrate", "--database", postgres_url)

    assert "-- not atomic: each statement commits on its own" in shown.stdout
    assert applied.exit_code == 0, applied.output
    assert applied.stdout.splitlines()[-1].startswith("Applying blog.0002_by_hand... OK")
    assert "ix_title" in indexes(postgres_url)
    back = project.gitmig("migrate", "blog", "0001", "--database", postgres_url)
    assert back.exit_code == 0, back.output
    assert "ix_title" not in indexes(postgres_url)


def test_the_word_in_a_comment_or_a_string_leaves_the_migration_atomic(
        tmp_path: Path, postgres_url: str) -> None:
    project = project_with(
        tmp_path, postgres_url,
        "-- to build CONCURRENTLY once the table is big\n"
        "UPDATE post SET title = 'VACUUM; CREATE INDEX CONCURRENTLY x ON y (z)'",
        "SELECT 1")
    shown = project.gitmig("sqlmigrate", "blog", "0002", "--database", postgres_url)
    assert shown.exit_code == 0, shown.output
    assert "not atomic" not in shown.stdout


def test_a_statement_it_does_not_run_outside_a_transaction_gets_a_hint(
        tmp_path: Path, postgres_url: str) -> None:
    """Two CONCURRENTLY statements in one string are one implicit transaction block to
    PostgreSQL: refused, rolled back, and the hint says to split them."""
    project = project_with(
        tmp_path, postgres_url,
        "CREATE INDEX CONCURRENTLY ix_a ON post (title); "
        "CREATE INDEX CONCURRENTLY ix_b ON post (id, title)", "SELECT 1")

    result = project.gitmig("migrate", "--database", postgres_url)

    assert result.exit_code == 2, result.output
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith("gitmig: error: applying blog.0002_by_hand failed at operation 1")
    assert "cannot run inside a transaction block" in error
    assert hint.startswith("hint: PostgreSQL runs that statement only outside a transaction")
    assert "give each its own string (RunSQL takes a list)" in hint
    assert hint.endswith("`gitmig migrate blog 0002_by_hand --fake`")
    assert "Traceback" not in result.output
    assert indexes(postgres_url) == set()
