"""`gitmig migrate` replaying the SQL a full run recorded (gitmig.actions.warmmigrate): the
same schema, history rows and output as the full path, without SQLAlchemy or Alembic, and
the full path whenever anything differs from what the recording run saw."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gitmig import cache

from .conftest import Project
from .test_migrate import POST, POST_WITH_SLUG, make, migrate, models

POST_WITH_INDEX = POST_WITH_SLUG.replace(
    "mapped_column(sa.String(50))", "mapped_column(sa.String(50), index=True)")
POST_WITH_BODY = POST_WITH_INDEX + (
    """    body: Mapped[str] = mapped_column(sa.Text, server_default="")\n""")


def three_migrations(project: Project) -> None:
    """0001 a table; 0002 a column; 0003 an index and a NOT NULL column (a rebuild)."""
    for body in (POST, POST_WITH_SLUG, POST_WITH_BODY):
        models(project, body)
        make(project)
    assert len(project.migrations("blog")) == 3


def cli(project: Project, *args: str, env_cache: bool = True
        ) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """gitmig in its own process, as a deploy runs it; with the top modules it imported.
    Without `env_cache`, with no cache at all (the full path, recording nothing)."""
    env = dict(os.environ, **({} if env_cache else {"GITMIG_NO_CACHE": "1"}))
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", *args],
                       cwd=project.root, capture_output=True, text=True, env=env)
    imported = {line.rpartition("|")[2].strip().split(".")[0]
                for line in r.stderr.splitlines() if line.startswith("import time:")}
    r.stderr = "".join(line + "\n" for line in r.stderr.splitlines()
                       if not line.startswith("import time:"))
    return r, imported


def catalog(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master "
                            "ORDER BY type, name").fetchall()


def history(path: Path) -> list[tuple[object, ...]]:
    """Every history row as stored, applied_at as its shape (the instant differs)."""
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT app, name, checksum, applied_at, typeof(applied_at), "
                            "git_commit, file_sha256, progress FROM gitmig_migrations "
                            "ORDER BY app, name").fetchall()
    return [(*r[:3], re.sub(r"\d", "9", r[3]), *r[4:]) for r in rows]


def no_ms(text: str) -> str:
    return re.sub(r"\(\d+ ms\)", "(N ms)", text)


def behind(project: Project, tmp_path: Path, n: int = 1) -> tuple[Path, str, Path]:
    """(the database, its URL, a copy of it `n` migrations behind the last)."""
    db = tmp_path / "db.sqlite3"
    url = f"sqlite:///{db}"
    names = [m.removesuffix(".py") for m in project.migrations("blog")]
    migrate(project, url, "blog", names[-1 - n])
    template = tmp_path / "behind.sqlite3"
    shutil.copy(db, template)
    return db, url, template


def restore(template: Path, db: Path) -> None:
    for f in db.parent.glob(db.name + "*"):
        f.unlink()
    shutil.copy(template, db)


def recorded(project: Project, db: Path, url: str, template: Path) -> str:
    """A full run that records (the database exact), then the database put back."""
    cold = migrate(project, url)
    assert "Applying" in cold.stdout
    restore(template, db)
    return cold.stdout


@pytest.mark.parametrize("n", [1, 2])
def test_warm_run_matches_the_full_run(project: Project, tmp_path: Path, n: int) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path, n)
    cold_out = migrate(project, url).stdout
    cold = (catalog(db), history(db))

    restore(template, db)
    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert not imported & {"sqlalchemy", "alembic", "blog"}, r.stderr
    assert no_ms(r.stdout) == no_ms(cold_out)
    assert r.stdout.count("Applying") == n
    assert r.stderr == ""
    assert (catalog(db), history(db)) == cold
    # and the next run finds the work done
    again, _ = cli(project, "migrate", "--database", url)
    assert again.stdout == "No migrations to apply.\n"


@pytest.mark.slow
def test_a_first_run_records_and_only_the_next_one_replays(project: Project,
                                                           tmp_path: Path) -> None:
    """Nothing recorded yet: the full path, which records (from behind, and from empty:
    gitmig.actions.warmempty); the same run again replays."""
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    r, imported = cli(project, "migrate", "--database", url)
    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported  # nothing recorded yet: the full path

    for warm in (False, True):
        db.unlink()
        r, imported = cli(project, "migrate", "--database", url)
        assert r.stdout.count("Applying") == 3
        assert ("sqlalchemy" not in imported) == warm


def test_a_corrupt_entry_is_ignored(project: Project, tmp_path: Path) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    cold_out = recorded(project, db, url, template)
    for entry in cache.cache_dir().glob("sqlpath-*.pickle"):
        data = entry.read_bytes()
        entry.write_bytes(data[: len(data) // 2])

    r, imported = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)


def test_a_drifted_database_takes_the_full_path(project: Project, tmp_path: Path) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    cold_out = recorded(project, db, url, template)
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE post ADD COLUMN extra INTEGER")

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" in imported
    assert "the database has drifted from its applied migrations" in r.stderr
    assert "extra" in r.stderr
    assert no_ms(r.stdout) == no_ms(cold_out)


@pytest.mark.slow
def test_a_failing_statement_hands_over_to_the_full_path(project: Project,
                                                         tmp_path: Path) -> None:
    """Rows the recording run did not have break a unique constraint: the migrations
    before it stay applied and reported once, and the full path runs the failing one,
    which it reports as the full path alone would."""
    for body in (POST, POST_WITH_SLUG, POST.replace("sa.String(200))",
                                                   "sa.String(200), unique=True)")
                 + POST_WITH_SLUG.removeprefix(POST)):
        models(project, body)
        make(project)
    db, url, template = behind(project, tmp_path, 2)
    recorded(project, db, url, template)
    with sqlite3.connect(template) as conn:
        conn.execute("INSERT INTO post (id, title) VALUES (1, 'a'), (2, 'a')")
    restore(template, db)
    cold = cli(project, "migrate", "--database", url, env_cache=False)
    cold_state = (catalog(db), history(db))
    restore(template, db)

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" in imported  # the full path took over
    assert r.returncode == cold[0].returncode != 0
    assert no_ms(r.stdout) == no_ms(cold[0].stdout)
    assert r.stdout.count("Applying") == 2 and "FAILED" in r.stdout
    assert r.stderr == cold[0].stderr
    assert (catalog(db), history(db)) == cold_state


def test_an_edited_pending_migration_is_not_replayed(project: Project,
                                                     tmp_path: Path) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    cold_out = recorded(project, db, url, template)
    last = project.root / "blog" / "migrations" / project.migrations("blog")[-1]
    last.write_text(last.read_text() + "# reviewed\n")

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)


def test_a_migration_importing_project_code_is_not_recorded(project: Project,
                                                           tmp_path: Path) -> None:
    """The project's own code (a column type, a @compiles hook) may change the SQL
    without changing the file: such a migration always takes the full path."""
    three_migrations(project)
    project.write("blog/coltypes.py", "SLUG_LENGTH = 50\n")
    last = project.root / "blog" / "migrations" / project.migrations("blog")[-1]
    last.write_text("from blog import coltypes  # noqa: F401\n" + last.read_text())
    db, url, template = behind(project, tmp_path)
    cold_out = recorded(project, db, url, template)

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)


@pytest.mark.slow
def test_another_migrate_holding_the_lock_is_waited_for(project: Project,
                                                        tmp_path: Path) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    cold_out = recorded(project, db, url, template)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    proc = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                            cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stderr is not None
    said = proc.stderr.readline()  # released once it says it waits: no race with a sleep
    holder.execute("COMMIT")
    holder.close()
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, err
    assert said.startswith("Waiting for another `gitmig migrate`"), said + err
    assert err == ""
    assert no_ms(out) == no_ms(cold_out)


@pytest.mark.slow
def test_a_kill_mid_run_leaves_each_migration_whole_or_absent(project: Project,
                                                              tmp_path: Path) -> None:
    """Killed at any moment, the database holds whole migrations with their rows (the
    schema is what a full run to that migration makes), every migration reported OK is
    among them, and the next run applies the rest."""
    three_migrations(project)
    names = [m.removesuffix(".py") for m in project.migrations("blog")]
    reference = {}
    for i, name in enumerate(names, start=1):
        ref = tmp_path / f"ref{i}.sqlite3"
        migrate(project, f"sqlite:///{ref}", "blog", name)
        reference[i] = catalog(ref)
    db, url, template = behind(project, tmp_path, 2)
    recorded(project, db, url, template)
    for delay in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.6):
        restore(template, db)
        proc = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                                 url], cwd=project.root, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=60)
        with sqlite3.connect(db) as conn:  # a hot journal is rolled back here
            conn.execute("SELECT 1 FROM sqlite_master").fetchall()
        rows = [r[1] for r in history(db)]
        assert rows == names[:len(rows)]
        assert catalog(db) == reference[len(rows)]
        assert out.count(" OK (") <= len(rows) - 1
        rest = migrate(project, url).stdout
        assert rest.count("Applying") == 3 - len(rows)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_a_signal_during_a_migration_ends_as_the_full_path_does(
        project: Project, tmp_path: Path, sig: signal.Signals) -> None:
    """Stopped while the second migration rebuilds a large table (after the first one's
    line), the warm run ends as the full one does, both batching (gitmig.db.batch,
    gitmig.db.sqlitebatch): Ctrl-C lets the one under way finish, commits and exits 130;
    a kill loses the open batch (the first, printed OK, with it) whole. Each migration is
    whole or absent, and the next run applies the rest."""
    three_migrations(project)
    names = [m.removesuffix(".py") for m in project.migrations("blog")]
    refs = {}
    for i in range(1, 4):
        ref = tmp_path / f"ref{i}.sqlite3"
        migrate(project, f"sqlite:///{ref}", "blog", names[i - 1])
        refs[i] = catalog(ref)
    db, url, template = behind(project, tmp_path, 2)
    with sqlite3.connect(template) as conn:
        conn.executemany("INSERT INTO post (title) VALUES (?)",
                         ((f"title {i}" * 4,) for i in range(400_000)))
    restore(template, db)
    recorded(project, db, url, template)

    def stopped(env: dict[str, str]) -> tuple[str, str, int, list[str]]:
        """(stdout, stderr, the exit code, the history's migrations) of a migrate
        signalled once it reported the first migration."""
        restore(template, db)
        with open(tmp_path / "stderr.txt", "w+") as errors:
            proc = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate",
                                     "--database", url], cwd=project.root,
                                    stdout=subprocess.PIPE, stderr=errors, text=True,
                                    env=env)
            assert proc.stdout is not None
            out = proc.stdout.readline()
            proc.send_signal(sig)
            out += proc.stdout.read()  # with what readline buffered
            proc.wait(timeout=60)
            errors.seek(0)
            err = errors.read()
        with sqlite3.connect(db) as conn:  # a hot journal is rolled back here
            conn.execute("SELECT 1 FROM sqlite_master").fetchall()
        rows = [r[1] for r in history(db)]
        assert catalog(db) == refs[len(rows)]  # whole migrations with their rows
        return no_ms(out), err, proc.returncode, rows

    for env in (dict(os.environ, GITMIG_NO_CACHE="1"), dict(os.environ)):  # full, warm
        out, err, code, rows = stopped(env)
        printed = re.findall(r"blog\.(\w+)\.\.\. OK", out)

        assert printed[0] == names[1]
        assert rows[0] == names[0] and rows == names[:len(rows)]
        if sig == signal.SIGINT:
            assert code == 130 and err.strip() == "gitmig: aborted"
            # The first migration's batch was open (the first Ctrl-C lets the one under
            # way finish, commits, stops) or already committed (it stops at once).
            assert rows[1:] == printed
        else:
            assert code == -signal.SIGKILL
            assert set(rows[1:]) <= set(printed)  # at most the open batch lost, whole
        assert migrate(project, url).stdout.count("Applying") == 3 - len(rows)
