"""Two `gitmig migrate` runs at once, and a run killed halfway, on all three databases.

These run gitmig in child processes. Nothing here measures time: the first run holds
the lock inside a migration until the test sees the second run waiting for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Project
from .test_migrate import applied, steps, tables

pytestmark = pytest.mark.slow

SAFETY = 60.0  # seconds before a stuck child counts as a failure, not a hang

HOLDING = '''"""Creates a table, then holds the migration open until the test lets it go."""
import os
import time

import sqlalchemy as sa

from gitmig import ops


def hold(connection):
    folder = os.environ["GITMIG_TEST_SIGNALS"]
    open(os.path.join(folder, "inside"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(folder, "release")):
        if time.monotonic() > deadline:
            raise RuntimeError("never released")
        time.sleep(0.02)


parents = []
operations = [
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
    ops.RunPython(hold, ops.RunPython.noop),
]
'''

SECOND = '''"""A second migration, so that a run has more than one thing to do."""
import sqlalchemy as sa

from gitmig import ops

parents = ["0001_hold"]
operations = [
    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''


def spawn(project: Project, url: str, signals: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GITMIG_DATABASE_URL": url, "GITMIG_TEST_SIGNALS": str(signals),
           "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "gitmig", "migrate", "--no-input"],
        cwd=project.root, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SAFETY
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first run never reached its migration"
        time.sleep(0.02)


def test_two_runs_at_once_apply_each_migration_once(
    project: Project, database_url: str, tmp_path: Path
) -> None:
    project.write("blog/migrations/0001_hold.py", HOLDING)
    project.write("blog/migrations/0002_tag.py", SECOND)
    signals = tmp_path / "signals"
    signals.mkdir()

    first = spawn(project, database_url, signals)
    try:
        wait_for(signals / "inside", first)
        second = spawn(project, database_url, signals)
        try:
            assert second.stderr is not None
            waiting = second.stderr.readline()  # blocks until the second run is waiting
            assert waiting.strip() == (
                "Waiting for another `gitmig migrate` on this database to finish...")
            (signals / "release").touch()
            out2, err2 = second.communicate(timeout=SAFETY)
        finally:
            if second.poll() is None:
                second.kill()
        out1, err1 = first.communicate(timeout=SAFETY)
    finally:
        if first.poll() is None:
            first.kill()

    assert first.returncode == 0, err1
    assert steps(out1) == [("Applying", "blog.0001_hold", "OK"),
                           ("Applying", "blog.0002_tag", "OK")]
    assert second.returncode == 0, err2
    assert out2 == "No migrations to apply.\n"
    assert applied(database_url) == [("blog", "0001_hold"), ("blog", "0002_tag")]
    assert tables(database_url) == ["gitmig_migrations", "post", "tag"]


CRASHING = '''"""Dies halfway through when told to, as a killed process would."""
import os

import sqlalchemy as sa

from gitmig import ops


def maybe_die(connection):
    if os.environ.get("GITMIG_TEST_CRASH"):
        os._exit(3)


parents = ["0001_initial"]
operations = [
    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
    ops.RunPython(maybe_die, ops.RunPython.noop),
    ops.CreateTable("label", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''

INITIAL = '''"""The first migration."""
import sqlalchemy as sa

from gitmig import ops

parents = []
operations = [
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''


def test_a_run_killed_halfway_is_completed_by_the_next(
    project: Project, database_url: str
) -> None:
    mysql = database_url.startswith("mysql")
    if mysql:
        # MariaDB commits each DDL statement: a crash after `CREATE TABLE tag` leaves the
        # table, which the next run cannot create again. Crash before any DDL instead
        # (tests/test_reliability_crash.py kills it everywhere else).
        crashing = CRASHING.replace(
            '    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True, '
            'nullable=False)),\n    ops.RunPython(maybe_die, ops.RunPython.noop),\n',
            '    ops.RunPython(maybe_die, ops.RunPython.noop),\n'
            '    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True, '
            'nullable=False)),\n')
        assert crashing != CRASHING
    else:
        crashing = CRASHING
    project.write("blog/migrations/0001_initial.py", INITIAL)
    project.write("blog/migrations/0002_crash.py", crashing)
    env = {**os.environ, "GITMIG_DATABASE_URL": database_url, "PYTHONDONTWRITEBYTECODE": "1"}

    crashed = subprocess.run(
        [sys.executable, "-m", "gitmig", "migrate"], cwd=project.root, text=True,
        env={**env, "GITMIG_TEST_CRASH": "1"}, capture_output=True, timeout=SAFETY,
    )
    assert crashed.returncode == 3, crashed.stderr
    assert crashed.stdout.splitlines()[-1] == "Applying blog.0002_crash..."
    assert tables(database_url) == ["gitmig_migrations", "post"]
    if mysql:
        # The history says the migration started; the next run reports it and changes
        # nothing until the user says what the database holds: here, that nothing ran.
        reported = subprocess.run(
            [sys.executable, "-m", "gitmig", "migrate"], cwd=project.root, text=True,
            env=env, capture_output=True, timeout=SAFETY,
        )
        assert reported.returncode == 2
        assert reported.stderr.startswith(
            "gitmig: error: blog.0002_crash was interrupted while being applied (the run was "
            "killed or lost its connection): none of its 3 operations had finished, and "
            "operation 1 (Run Python: maybe_die) may have run too, in whole or in part.")
        assert tables(database_url) == ["gitmig_migrations", "post"]
        settled = subprocess.run(
            [sys.executable, "-m", "gitmig", "migrate", "blog", "0001", "--fake"],
            cwd=project.root, text=True, env=env, capture_output=True, timeout=SAFETY,
        )
        assert settled.returncode == 0, settled.stderr
    assert applied(database_url) == [("blog", "0001_initial")]

    again = subprocess.run(
        [sys.executable, "-m", "gitmig", "migrate"], cwd=project.root, text=True,
        env=env, capture_output=True, timeout=SAFETY,
    )
    assert again.returncode == 0, again.stderr
    assert steps(again.stdout) == [("Applying", "blog.0002_crash", "OK")]
    assert applied(database_url) == [("blog", "0001_initial"), ("blog", "0002_crash")]
    assert tables(database_url) == ["gitmig_migrations", "label", "post", "tag"]
