"""Migrations share a commit only where no one can be using their tables (Backend.
may_batch): on PostgreSQL, a database that already has tables gets one commit per
migration, so a quick change to one table is committed, and its lock released, before
the next migration waits or works on another table."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa

from .conftest import Project

TWO_TABLES = '''import sqlalchemy as sa

from gitmig import ops

parents = []
operations = [
    ops.CreateTable("t1", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
    ops.CreateTable("t2", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''

ADD_COLUMN = '''import sqlalchemy as sa

from gitmig import ops

parents = [{parent!r}]
operations = [
    ops.AddColumn("{table}", sa.Column("extra", sa.Integer(), nullable=True)),
]
'''


def test_a_later_migration_waiting_for_a_lock_holds_no_earlier_ones_table(
        project: Project, postgres_url: str) -> None:
    project.write("blog/migrations/0001_tables.py", TWO_TABLES)
    project.write("blog/migrations/0002_t1_extra.py",
                  ADD_COLUMN.format(parent="0001_tables", table="t1"))
    project.write("blog/migrations/0003_t2_extra.py",
                  ADD_COLUMN.format(parent="0002_t1_extra", table="t2"))
    first = project.gitmig("migrate", "blog", "0001", "--database", postgres_url)
    assert first.exit_code == 0, first.output

    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    blocker = engine.connect()
    child = None
    try:
        blocker.exec_driver_sql("LOCK TABLE t2 IN ACCESS EXCLUSIVE MODE")  # a long report
        child = subprocess.Popen(
            [sys.executable, "-m", "gitmig", "migrate", "--no-drift-check", "--database",
             postgres_url],
            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line.startswith("Applying blog.0002_t1_extra... OK"), line
        with engine.connect() as other:
            other.exec_driver_sql("SET lock_timeout = '2s'")
            # 0003 now waits for t2; 0002 is committed and t1 is free for everyone.
            assert other.exec_driver_sql("SELECT extra FROM t1").all() == []
            assert other.exec_driver_sql(
                "SELECT name FROM gitmig_migrations ORDER BY name").scalars().all() == [
                "0001_tables", "0002_t1_extra"]
        blocker.rollback()
        assert child.wait(timeout=60) == 0
        assert child.stdout.read().startswith("Applying blog.0003_t2_extra... OK")
    finally:
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()
        blocker.close()
        engine.dispose()
