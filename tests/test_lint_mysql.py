"""The MariaDB copy rule proved on the server: the SQL gitmig runs for a change the lint
flags is refused with ALGORITHM=INPLACE (the server would copy the table), and the SQL
of a change it does not flag is accepted so."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from .conftest import Project

pytestmark = pytest.mark.slow

INITIAL = '''
import sqlalchemy as sa
from gitmig import ops

parents = []
operations = [
    ops.CreateTable("author", sa.Column("id", sa.Integer(), primary_key=True)),
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("title", sa.String(20), nullable=True),
                    sa.Column("views", sa.Integer(), nullable=False),
                    sa.Column("author_id", sa.Integer(), nullable=True)),
    ops.RunSQL(["INSERT INTO author (id) VALUES (1)",
                "INSERT INTO post (id, title, views, author_id) VALUES (1, 'a', 0, 1)"],
               reverse_sql=[]),
]
'''

CASES = [
    ('ops.AlterColumn("post", "views", type_=sa.BigInteger())', True),
    ('ops.AddConstraint("post", sa.ForeignKeyConstraint(["author_id"], ["author.id"], '
     'name="fk_post_author"))', True),
    ('ops.AlterColumn("post", "title", type_=sa.String(40))', False),
    ('ops.CreateIndex("ix_post_title", "post", ["title"])', False),
    ('ops.AddColumn("post", sa.Column("note", sa.Integer(), nullable=True))', False),
]


@pytest.mark.parametrize(("operation", "flagged"), CASES, ids=[c[0][4:40] for c in CASES])
def test_flagged_changes_cannot_run_in_place(project: Project, mysql_url: str,
                                             operation: str, flagged: bool) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        '"sqlite:///db.sqlite3"', f'"{mysql_url}"'))
    project.write("blog/migrations/0001_initial.py", INITIAL)
    assert project.gitmig("migrate").exit_code == 0
    project.write("blog/migrations/0002_change.py",
                  "import sqlalchemy as sa\nfrom gitmig import ops\n\n"
                  f'parents = ["0001_initial"]\noperations = [\n    {operation},\n]\n')
    lint = project.gitmig("lint", "--unapplied")
    assert ("mysql-table-copy" in lint.stdout) is flagged, lint.output
    sql = project.gitmig("sqlmigrate", "blog", "0002")
    assert sql.exit_code == 0, sql.output
    text = "\n".join(line for line in sql.stdout.splitlines() if not line.startswith("--"))
    statements = [s.strip() for s in text.split(";") if s.strip()]
    ddl = [s for s in statements if re.match(r"(ALTER TABLE|CREATE INDEX)", s)]
    assert ddl, sql.stdout
    engine = sa.create_engine(mysql_url)
    refused = []
    try:
        with engine.connect() as conn:
            for statement in ddl:
                inplace = (statement + (" ALGORITHM=INPLACE" if statement.startswith("CREATE")
                                        else ", ALGORITHM=INPLACE"))
                try:
                    conn.exec_driver_sql(inplace)
                except sa.exc.DBAPIError as exc:
                    assert "ALGORITHM=INPLACE is not supported" in str(exc), exc
                    refused.append(statement)
    finally:
        engine.dispose()
    assert bool(refused) is flagged, (ddl, refused)
