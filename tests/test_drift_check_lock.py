"""The drift check before `migrate` while another session holds a lock on a table, on the
real servers, with no lock_timeout configured (tests/test_lock_retries.py has it set).

Reading the catalog must not wait for ever: PostgreSQL reads a table's definition under a
lock that ACCESS EXCLUSIVE keeps out, so the check gives up after its own limit, says so in
one line, and migrate goes on with the migrations (here on another table). MariaDB reads
information_schema under metadata locks that only a granted exclusive one keeps out: a
transaction holding `post` open with an ALTER queued behind it (the pile-up that stalls
every other reader of `post`) does not stop the check.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from .conftest import Project

pytestmark = pytest.mark.slow

HANG = 90.0  # seconds: a run still going by then is hanging

INITIAL = '''
import sqlalchemy as sa
from gitmig import ops

parents = []
operations = [
    ops.CreateTable("author", sa.Column("id", sa.Integer(), primary_key=True)),
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True)),
]
'''

AUTHOR_X = '''
import sqlalchemy as sa
from gitmig import ops

parents = ["0001_initial"]
operations = [ops.AddColumn("author", sa.Column("x", sa.Integer(), nullable=True))]
'''


def setup(project: Project, url: str) -> None:
    config = project.read("pyproject.toml").replace('"sqlite:///db.sqlite3"', f'"{url}"')
    assert "lock_timeout" not in config
    project.write("pyproject.toml", config)
    project.write("blog/migrations/0001_initial.py", INITIAL)
    first = project.gitmig("migrate")
    assert first.exit_code == 0, first.output
    project.write("blog/migrations/0002_author_x.py", AUTHOR_X)


def run_migrate(project: Project) -> subprocess.CompletedProcess[str]:
    """`gitmig migrate` as a deploy runs it; a run that hangs is killed and fails the test."""
    try:
        return subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--no-input"],
                              cwd=project.root, capture_output=True, text=True, timeout=HANG)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gitmig migrate still waited after {HANG:g} s")


def columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


def history(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT name FROM gitmig_migrations ORDER BY name")))


def test_postgresql_the_check_gives_up_on_a_locked_table_and_says_what_to_do(
        project: Project, postgres_url: str) -> None:
    setup(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE post IN ACCESS EXCLUSIVE MODE")
            r = run_migrate(project)
            holder.rollback()
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("Applying blog.0002_author_x... OK"), r.stdout
        assert r.stderr.count("\n") == 1, r.stderr  # one line
        assert r.stderr == (
            "warning: drift not checked: reading the catalog waited for a lock longer than "
            "5 s (lock_timeout is not set in [tool.gitmig]): another session holds a lock "
            "on a table; run `gitmig drift` once it is released, or pass --no-drift-check "
            "to skip the check\n"), r.stderr
        assert history(engine) == ["0001_initial", "0002_author_x"]
        assert columns(engine, "author") == ["id", "x"]
        # The check's limit was for the check only: the session has no lock_timeout left.
        again = project.gitmig("migrate")
        assert (again.exit_code, again.stdout) == (0, "No migrations to apply.\n")
    finally:
        engine.dispose()


def test_mariadb_a_metadata_lock_pile_up_does_not_stop_the_check(
        project: Project, mysql_url: str) -> None:
    setup(project, mysql_url)
    engine = sa.create_engine(mysql_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as holder, engine.connect() as alterer:
            holder.exec_driver_sql("SELECT * FROM post")  # its metadata lock lasts
            queued = threading.Thread(target=lambda: alterer.exec_driver_sql(
                "ALTER TABLE post ADD COLUMN queued INTEGER"), daemon=True)
            queued.start()
            time.sleep(0.5)  # the ALTER waits for the holder's metadata lock
            try:
                r = run_migrate(project)
            finally:
                holder.rollback()
                queued.join(timeout=HANG)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("Applying blog.0002_author_x... OK"), r.stdout
        assert r.stderr == "", r.stderr  # checked: no drift, no warning
        assert history(engine) == ["0001_initial", "0002_author_x"]
        assert columns(engine, "author") == ["id", "x"]
        assert columns(engine, "post") == ["id", "queued"]
    finally:
        engine.dispose()
