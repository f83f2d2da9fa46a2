"""The migration lock on a SQLite file the user put in WAL mode (and, alike, in DELETE mode).

In WAL mode SQLite's EXCLUSIVE locking mode holds nothing until the connection's next write,
and then keeps out every other connection, readers included: a `gitmig migrate` either
held no lock at all or failed on a database an application had open. These runs are real
processes on a real file, as a deploy runs them; the file stays in the mode the user chose.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from .conftest import Project
from .test_migrate import POST, POST_WITH_SLUG, make, models
from .test_migrate_sqlpath import behind, catalog, history, recorded, restore, three_migrations

pytestmark = pytest.mark.slow

SAFETY = 60.0  # seconds before a stuck child is a failure rather than a hang
WAITING = "Waiting for another `gitmig migrate` on this database to finish..."
APPLIED = re.compile(r"^Applying (\w+\.\w+)\.\.\. OK \(\d+ ms\)$", re.M)

HOLD = '''"""Stays inside its migration, holding the lock, until the test releases it."""
import os
import time

from gitmig import ops


def hold(connection):
    folder = os.environ["GITMIG_TEST_SIGNALS"]
    open(os.path.join(folder, "inside"), "a").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(folder, "release")):
        if time.monotonic() > deadline:
            raise RuntimeError("never released")
        time.sleep(0.02)


parents = ["{parent}"]
operations = [ops.RunPython(hold, ops.RunPython.noop)]
'''


def journal(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.close()
    return mode


def set_journal(db: Path, mode: str) -> None:
    conn = sqlite3.connect(db)
    assert conn.execute(f"PRAGMA journal_mode = {mode}").fetchone()[0] == mode
    conn.close()


def spawn(project: Project, url: str, signals: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "GITMIG_TEST_SIGNALS": str(signals)}
    return subprocess.Popen(
        [sys.executable, "-m", "gitmig", "migrate", "--no-input", "--database", url],
        cwd=project.root, env=env, text=True, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def first_line(proc: subprocess.Popen[str], timeout: float) -> str | None:
    """The first line the run writes to stderr, or None if none comes in `timeout`."""
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(proc.stderr.readline()),  # type: ignore[union-attr]
                              daemon=True)
    reader.start()
    reader.join(timeout)
    return got[0].rstrip("\n") if got else None


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SAFETY
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def history_names(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute("SELECT app, name FROM gitmig_migrations ORDER BY app, name"
                            ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_a_second_migrate_waits_for_the_first(project: Project, tmp_path: Path,
                                              mode: str) -> None:
    """The second run says it waits, applies nothing while the first holds the lock,
    then finds nothing to do; the file keeps the journal mode the user set."""
    models(project, POST)
    make(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    first = project.gitmig("migrate", "--database", url)
    assert first.exit_code == 0, first.output
    set_journal(db, mode)
    initial = project.migrations("blog")[0].removesuffix(".py")
    project.write("blog/migrations/0002_hold.py", HOLD.format(parent=initial))
    signals = tmp_path / "signals"
    signals.mkdir()

    a = spawn(project, url, signals)
    procs = [a]
    try:
        wait_for(signals / "inside", a)
        (signals / "inside").unlink()
        b = spawn(project, url, signals)
        procs.append(b)
        seen = first_line(b, 30)
        # Still inside the first run's migration: the second ran none of it.
        assert not (signals / "inside").exists()
        if mode == "wal":  # WAL keeps its promise: readers are never kept out
            assert history_names(db) == [("blog", initial)]
        (signals / "release").touch()
        outs = [p.communicate(timeout=SAFETY) for p in procs]
    finally:
        (signals / "release").touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert seen == WAITING, outs
    assert [p.returncode for p in procs] == [0, 0], outs
    assert APPLIED.findall(outs[0][0]) == ["blog.0002_hold"], outs
    assert outs[1][0] == "No migrations to apply.\n", outs
    assert outs[1][1] == "", outs  # the waiting line was read above; nothing else
    assert history_names(db) == [("blog", initial), ("blog", "0002_hold")]
    assert journal(db) == mode
    assert not list(tmp_path.glob("db.sqlite3-gitmig*"))  # the lock leaves no file


APP = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("SELECT count(*) FROM post").fetchone()
print("ready", flush=True)
sys.stdin.readline()
conn.execute("INSERT INTO post (id, title) VALUES (1, 'written by the app')")
print(conn.execute("SELECT count(*), max(title) FROM post").fetchone(), flush=True)
"""


def test_migrate_works_while_an_application_has_the_wal_database_open(
        project: Project, tmp_path: Path) -> None:
    """An application's idle connection keeps a WAL file open for as long as it runs; a
    deploy migrates beside it, and the application goes on reading and writing."""
    models(project, POST)
    make(project)
    models(project, POST_WITH_SLUG)
    make(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    names = [m.removesuffix(".py") for m in project.migrations("blog")]
    first = project.gitmig("migrate", "--database", url, "blog", names[0])
    assert first.exit_code == 0, first.output
    set_journal(db, "wal")
    app = subprocess.Popen([sys.executable, "-c", APP, str(db)], text=True,
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert app.stdout is not None and app.stdout.readline() == "ready\n"
        r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--no-input",
                            "--database", url], cwd=project.root, capture_output=True,
                           text=True, timeout=SAFETY)
        out, _ = app.communicate("go\n", timeout=SAFETY)
    finally:
        if app.poll() is None:
            app.kill()
    assert r.returncode == 0, r.stderr
    assert APPLIED.findall(r.stdout) == [f"blog.{names[1]}"], r.stdout
    assert r.stderr == ""
    assert out == "(1, 'written by the app')\n"
    assert history_names(db) == [("blog", n) for n in names]
    assert journal(db) == "wal"


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_the_sql_path_waits_for_the_lock_too(project: Project, tmp_path: Path,
                                             mode: str) -> None:
    """A run that would replay recorded SQL (gitmig.actions.warmmigrate) while another
    holds the lock hands over to the full path, which waits and says so."""
    from gitmig.db import sqlitelock

    three_migrations(project)
    db, url, template = behind(project, tmp_path, 2)
    set_journal(template, mode)
    restore(template, db)
    recorded(project, db, url, template)
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        with sqlitelock.held(holder, on_wait=None):
            run = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                                    url], cwd=project.root, text=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            try:
                seen = first_line(run, 30)
                time.sleep(0.5)  # time to apply something, if it did not wait
                during = history(db) if mode == "wal" else None
            except BaseException:
                run.kill()
                raise
        out, err = run.communicate(timeout=SAFETY)
    finally:
        holder.close()
    assert seen == WAITING, (out, err)
    if mode == "wal":
        assert during == history(template)
    assert run.returncode == 0, err
    assert len(APPLIED.findall(out)) == 2, out
    assert journal(db) == mode
    assert catalog(db) != catalog(template)


def test_a_killed_run_leaves_the_lock_to_the_next(project: Project, tmp_path: Path) -> None:
    """SIGKILL inside a migration: the system lets go of the lock; the next run takes the
    file the killed one left, applies the migration, and removes the file."""
    models(project, POST)
    make(project)
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    first = project.gitmig("migrate", "--database", url)
    assert first.exit_code == 0, first.output
    set_journal(db, "wal")
    initial = project.migrations("blog")[0].removesuffix(".py")
    project.write("blog/migrations/0002_hold.py", HOLD.format(parent=initial))
    signals = tmp_path / "signals"
    signals.mkdir()
    killed = spawn(project, url, signals)
    try:
        wait_for(signals / "inside", killed)
        assert (tmp_path / "db.sqlite3-gitmig-lock").exists()  # held by the run
    finally:
        killed.kill()
        killed.communicate(timeout=SAFETY)
    (signals / "release").touch()

    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                       cwd=project.root, capture_output=True, text=True, timeout=SAFETY,
                       env={**os.environ, "GITMIG_TEST_SIGNALS": str(signals)})

    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no waiting: nobody holds the lock
    assert APPLIED.findall(r.stdout) == ["blog.0002_hold"]
    assert history_names(db) == [("blog", initial), ("blog", "0002_hold")]
    assert not (tmp_path / "db.sqlite3-gitmig-lock").exists()
    assert journal(db) == "wal"
