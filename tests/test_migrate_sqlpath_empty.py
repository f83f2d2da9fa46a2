"""`gitmig migrate` into an empty SQLite file replaying the SQL a full run from empty
recorded (gitmig.actions.warmempty): a test database made from the same migrations at the
start of every test run. Each warm run is compared with a full one (GITMIG_NO_CACHE=1)."""

from __future__ import annotations

import os
import pickle
import re
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gitmig import cache

from .conftest import Project
from .test_migrate_sqlpath import catalog, cli, history, no_ms, three_migrations

TABLE = '''import sqlalchemy as sa

from gitmig import ops

parents = {parents!r}
operations = [
    ops.CreateTable("t{i}", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''


def many(project: Project, n: int) -> None:
    """n migrations of blog, each creating one table t1..tn."""
    for i in range(1, n + 1):
        parents = [f"{i - 1:04d}_t{i - 1}"] if i > 1 else []
        project.write(f"blog/migrations/{i:04d}_t{i}.py", TABLE.format(parents=parents, i=i))


def fresh(db: Path) -> None:
    for f in db.parent.glob(db.name + "*"):
        f.unlink()


def full_run(project: Project, db: Path, url: str
             ) -> tuple[subprocess.CompletedProcess[str], tuple[object, ...]]:
    """A full run from no file with no cache at all: (its process, its schema and
    history, the file removed afterwards)."""
    fresh(db)
    r, imported = cli(project, "migrate", "--database", url, env_cache=False)
    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    state = (catalog(db), history(db))
    fresh(db)
    return r, state


def recording_run(project: Project, db: Path, url: str) -> None:
    """A full run from no file that records (nothing recorded yet), file removed after."""
    fresh(db)
    r, imported = cli(project, "migrate", "--database", url)
    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    fresh(db)


def warm(project: Project, url: str) -> subprocess.CompletedProcess[str]:
    r, imported = cli(project, "migrate", "--database", url)
    assert r.returncode == 0, r.stderr
    assert not imported & {"sqlalchemy", "alembic", "blog"}, "the full path ran"
    return r


@pytest.mark.parametrize("start", ["no file", "empty file", "empty history table"])
def test_warm_from_empty_matches_the_full_run(project: Project, tmp_path: Path,
                                              start: str) -> None:
    """Same sqlite_master (the history table's DDL and indexes too), history rows,
    stdout and (empty) stderr as a full run; no SQLAlchemy, Alembic or models."""
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    cold, cold_state = full_run(project, db, url)
    recording_run(project, db, url)
    if start == "empty file":
        db.write_bytes(b"")
    elif start == "empty history table":  # as a run killed in its first batch leaves it
        import sqlalchemy as sa

        from gitmig.db.history.recorder import _metadata
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            _metadata.create_all(conn)
        engine.dispose()

    r = warm(project, url)

    assert no_ms(r.stdout) == no_ms(cold.stdout)
    assert r.stdout.count("Applying") == 3
    assert r.stderr == ""
    assert (catalog(db), history(db)) == cold_state
    with sqlite3.connect(db) as conn:  # made in the same order: the same pages
        assert conn.execute("SELECT name, rootpage FROM sqlite_master ORDER BY rowid"
                            ).fetchall()[0] == ("gitmig_migrations", 2)
    again, _ = cli(project, "migrate", "--database", url)
    assert again.stdout == "No migrations to apply.\n"


def test_the_history_table_is_the_full_paths_byte_for_byte(project: Project,
                                                          tmp_path: Path) -> None:
    """The recorded DDL is what SQLAlchemy makes today: a recording from another run, with
    the table made differently, would show here."""
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    _, cold_state = full_run(project, db, url)
    recording_run(project, db, url)
    warm(project, url)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name = "
                            "'gitmig_migrations' ORDER BY rowid").fetchall()
    assert sorted(rows) == [r[:2] + r[3:] for r in cold_state[0]
                            if r[2] == "gitmig_migrations"]
    assert rows[0][2].startswith("CREATE TABLE gitmig_migrations (")
    assert "PRIMARY KEY (app, name)" in rows[0][2]


def test_a_file_with_a_table_of_its_own_takes_the_full_path(project: Project,
                                                            tmp_path: Path) -> None:
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    cold, _ = full_run(project, db, url)
    recording_run(project, db, url)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE legacy (id INTEGER)")

    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold.stdout)
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM legacy").fetchone() == (0,)


def test_a_view_or_a_history_row_takes_the_full_path(project: Project,
                                                     tmp_path: Path) -> None:
    """Empty means nothing in sqlite_master but gitmig's empty history table."""
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    cold, _ = full_run(project, db, url)
    recording_run(project, db, url)
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE VIEW v AS SELECT 1 AS one")

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold.stdout)


def test_a_corrupt_entry_is_ignored(project: Project, tmp_path: Path) -> None:
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    cold, cold_state = full_run(project, db, url)
    recording_run(project, db, url)
    entries = list(cache.cache_dir().glob("sqlpath-empty-*.pickle"))
    assert entries
    for entry in entries:
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])

    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold.stdout)
    assert (catalog(db), history(db)) == cold_state


def test_an_edited_migration_is_not_replayed(project: Project, tmp_path: Path) -> None:
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    recording_run(project, db, url)
    last = project.root / "blog" / "migrations" / project.migrations("blog")[-1]
    last.write_text(last.read_text() + "# reviewed\n")

    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported


def _break_statement(index: int) -> None:
    """Make the recorded statements of the plan's migration `index` fail, keeping the
    entry's shape (a hostile or stale entry: the warm path must not trust it blindly)."""
    entries = sorted(cache.cache_dir().glob("sqlpath-empty-*.pickle"),
                     key=lambda e: e.stat().st_mtime_ns)  # this test's: the newest
    assert entries
    data = pickle.loads(entries[-1].read_bytes())
    statements, destructive = data["value"]["steps"][index]
    data["value"]["steps"][index] = ([*statements, ("SELECT * FROM no_such_table", ())],
                                     destructive)
    entries[-1].write_bytes(pickle.dumps(data))


@pytest.mark.slow
@pytest.mark.parametrize("index", [0, 2])
def test_a_failing_statement_hands_over_to_the_full_path(project: Project,
                                                         tmp_path: Path, index: int) -> None:
    """The migrations before it stay applied and are reported once; the full path runs
    the rest and reports it as it would. (In the first, the history table made with it
    is rolled back with it: the full path makes it again.)"""
    three_migrations(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    cold, cold_state = full_run(project, db, url)
    recording_run(project, db, url)
    _break_statement(index)

    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported  # the full path took over for the last one
    assert no_ms(r.stdout) == no_ms(cold.stdout)  # each line once
    assert r.stdout.count("Applying") == 3
    assert r.stderr == ""
    assert (catalog(db), history(db)) == cold_state


def run_until(project: Project, url: str, oks: int, act: object
              ) -> tuple[int, list[str], str]:
    """migrate in a child; after its `oks`-th OK line, act(child); then (its exit status,
    the migrations it printed OK, its stderr)."""
    assert callable(act)
    with open(project.root.parent / "stderr.txt", "w+") as errors:
        child = subprocess.Popen(
            [sys.executable, "-X", "importtime", "-m", "gitmig", "migrate", "--database",
             url], cwd=project.root, stdout=subprocess.PIPE, stderr=errors, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        assert child.stdout is not None
        out = ""
        while out.count(" OK (") < oks:
            line = child.stdout.readline()
            assert line, f"the run ended first: {out}"
            out += line
        act(child)
        out += child.stdout.read()  # what readline buffered too
        child.wait(timeout=120)
        errors.seek(0)
        err = errors.read()
    assert "sqlalchemy" not in {line.rpartition("|")[2].strip().split(".")[0]
                                for line in err.splitlines()
                                if line.startswith("import time:")}, "not the warm path"
    err = "".join(line + "\n" for line in err.splitlines()
                  if not line.startswith("import time:"))
    ok = re.findall(r"blog\.\d{4}_(t\d+)\.\.\. OK \(", out)
    return child.returncode, ok, err


def consistent(db: Path, n: int) -> list[str]:
    """The history is a prefix of the plan and the tables are exactly its migrations'."""
    with sqlite3.connect(db) as conn:  # a hot journal is rolled back here
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 't[0-9]*'")}
        has_history = conn.execute("SELECT 1 FROM sqlite_master WHERE name = "
                                   "'gitmig_migrations'").fetchone()
        rows = ([r[0] for r in conn.execute("SELECT name FROM gitmig_migrations "
                                            "ORDER BY name")] if has_history else [])
    names = [f"{i:04d}_t{i}" for i in range(1, n + 1)]
    assert rows == names[:len(rows)], "not a prefix of the plan"
    applied = [r.split("_", 1)[1] for r in rows]
    assert set(applied) == tables, "half applied: a table without its row, or a row alone"
    return applied


N = 150


@pytest.mark.slow
@pytest.mark.parametrize("oks", [1, 40, 120])
def test_sigkill_mid_run_leaves_a_prefix_and_the_next_run_finishes(
        project: Project, tmp_path: Path, oks: int) -> None:
    many(project, N)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    _, cold_state = full_run(project, db, url)
    recording_run(project, db, url)

    code, ok, _ = run_until(project, url, oks, lambda child: child.kill())

    assert code == -signal.SIGKILL
    applied = consistent(db, N)
    assert set(applied) <= set(ok)  # a kill loses at most the batch under way
    rest, _ = cli(project, "migrate", "--database", url)
    assert rest.returncode == 0, rest.stderr
    assert rest.stdout.count("Applying") == N - len(applied)
    assert (catalog(db), history(db)) == cold_state


@pytest.mark.slow
@pytest.mark.parametrize("oks", [1, 40])
def test_ctrl_c_keeps_what_was_printed_ok(project: Project, tmp_path: Path,
                                          oks: int) -> None:
    many(project, N)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    _, cold_state = full_run(project, db, url)
    recording_run(project, db, url)

    code, ok, err = run_until(project, url, oks, lambda child: child.send_signal(
        signal.SIGINT))

    assert code == 130, err
    assert err.strip().splitlines()[-1] == "gitmig: aborted", err
    assert "Traceback" not in err
    applied = consistent(db, N)
    assert set(ok) <= set(applied), "a migration printed OK is not applied"
    assert len(applied) <= len(ok) + 1  # at most the one under way, whole, unreported
    rest, _ = cli(project, "migrate", "--database", url)
    assert rest.returncode == 0, rest.stderr
    assert rest.stdout.count("Applying") == N - len(applied)
    assert (catalog(db), history(db)) == cold_state


@pytest.mark.slow
def test_two_runs_from_no_file_at_once(project: Project, tmp_path: Path) -> None:
    """Each migration applied once and reported once, by one of them; both succeed (the
    other waits for the lock, as two full runs do, and finds nothing to do)."""
    many(project, 40)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    _, cold_state = full_run(project, db, url)
    recording_run(project, db, url)
    for _ in range(3):
        fresh(db)
        runs = [subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                                  url], cwd=project.root, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in runs]

        assert [p.returncode for p in runs] == [0, 0], outs
        assert sum(o.count("Applying") for o, _ in outs) == 40, outs
        assert (catalog(db), history(db)) == cold_state
