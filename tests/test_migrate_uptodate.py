"""`gitmig migrate` with nothing to do: answered from the files and the history table alone
(gitmig.actions.uptodate), with exactly what the full path says, and the full path taken
whenever anything is in doubt."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Project, Result
from .test_migrate import migrate, two_migrations


def full_path(url: str) -> str:
    """The same database by a URL form the fast path leaves to SQLAlchemy (a query option)."""
    return url + "?timeout=5"


def run_imports(project: Project, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", *args],
                       cwd=project.root, capture_output=True, text=True)
    imported = {line.rpartition("|")[2].strip().split(".")[0]
                for line in r.stderr.splitlines() if line.startswith("import time:")}
    return r, imported


def same(a: Result, b: Result) -> None:
    assert (a.exit_code, a.stdout, a.stderr) == (b.exit_code, b.stdout, b.stderr)


@pytest.mark.parametrize("check", [(), ("--check", "--no-drift-check")])
def test_nothing_to_do_imports_no_sqlalchemy(project: Project, sqlite_url: str,
                                             check: tuple[str, ...]) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)

    r, imported = run_imports(project, "migrate", "--database", sqlite_url, *check)

    assert r.returncode == 0, r.stderr
    assert r.stdout == ("The database is up to date.\n" if check else
                        "No migrations to apply.\n")
    assert r.stdout == project.gitmig("migrate", "--database", full_path(sqlite_url),
                                      *check).stdout
    assert not imported & {"sqlalchemy", "alembic", "pygit2", "rich", "blog"}, r.stderr


def test_a_pending_migration_is_applied(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")

    r = migrate(project, sqlite_url)

    assert r.stdout.startswith("Applying blog.0002_post_add_slug... OK")
    assert migrate(project, sqlite_url).stdout == "No migrations to apply.\n"


def test_an_edited_migration_is_still_reported(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    path = project.root / "blog/migrations/0002_post_add_slug.py"
    assert "50" in path.read_text()
    path.write_text(path.read_text().replace("50", "60"))  # the slug's length

    fast = migrate(project, sqlite_url)

    assert "0002_post_add_slug was edited after it was applied" in fast.stderr
    same(fast, migrate(project, full_path(sqlite_url)))


def test_rows_of_an_unknown_app_are_refused_as_before(project: Project, sqlite_url: str
                                                      ) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    db = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
                     "VALUES ('shop', '0001_initial', 'x', '2026-01-01 00:00:00')")

    fast = migrate(project, sqlite_url, code=2)

    assert "records migrations of app 'shop'" in fast.stderr
    same(fast, migrate(project, full_path(sqlite_url), code=2))


def test_an_unfinished_run_is_not_taken_for_done(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    db = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE gitmig_migrations SET progress = 'apply 0/1' "
                     "WHERE name = '0002_post_add_slug'")

    fast = migrate(project, sqlite_url, code=2)

    assert "No migrations to apply" not in fast.stdout
    same(fast, migrate(project, full_path(sqlite_url), code=2))


def test_an_extra_history_column_is_tolerated(project: Project, sqlite_url: str) -> None:
    """Another gitmig may add columns to the history table (a content digest, say)."""
    two_migrations(project)
    migrate(project, sqlite_url)
    db = sqlite_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        conn.execute("ALTER TABLE gitmig_migrations ADD COLUMN digest VARCHAR(64)")

    r, imported = run_imports(project, "migrate", "--database", sqlite_url)

    assert (r.returncode, r.stdout) == (0, "No migrations to apply.\n"), r.stderr
    assert "sqlalchemy" not in imported


def test_a_held_database_is_left_to_the_full_path(project: Project, sqlite_url: str,
                                                  tmp_path: Path) -> None:
    """While a running migrate holds the file, the cheap read does not wait or answer: the
    full path waits for the lock and says so."""
    from gitmig.db.history.sqlitereader import settled

    two_migrations(project)
    migrate(project, sqlite_url)
    db = sqlite_url.removeprefix("sqlite:///")
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        assert settled(sqlite_url) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert settled(sqlite_url) is not None
    assert settled(f"sqlite:///{tmp_path / 'none.db'}") is None
    assert not (tmp_path / "none.db").exists()


@pytest.mark.slow
def test_nothing_to_do_says_the_same_on_every_database(project: Project, database_url: str
                                                       ) -> None:
    two_migrations(project)
    migrate(project, database_url)

    assert migrate(project, database_url).stdout == "No migrations to apply.\n"
    assert migrate(project, database_url, "--check").stdout == "The database is up to date.\n"


# -- PostgreSQL through libpq (gitmig.db.history.pgreader) ---------------------------------


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://u@h/db?sslmode=require",  # query options: SQLAlchemy's
    "postgresql+psycopg2://u@h/db",  # another driver
    "mysql+pymysql://u@h/db",
    "postgresql+psycopg://us%40er@h/db",  # printed SQLAlchemy's own way
    "postgresql+psycopg://u@HOST/db",
    "postgresql+psycopg://u@127.0.0.1:1/db",  # nothing listens: no answer, no error
])
def test_pgreader_stays_out_of_what_it_is_not_sure_of(url: str) -> None:
    from gitmig.config import Timeouts
    from gitmig.db.history import pgreader

    assert pgreader.read(url, Timeouts(2, 2)) is None


@pytest.mark.slow
def test_pgreader_reads_what_the_recorder_reads(project: Project, postgres_url: str) -> None:
    from gitmig.db.connection import connect, display_url
    from gitmig.db.history import pgreader
    from gitmig.db.history.recorder import Recorder

    assert pgreader.read(postgres_url) == pgreader.Found(display_url(postgres_url), {}, False)
    two_migrations(project)
    migrate(project, postgres_url)
    with connect(postgres_url) as conn:
        recorded = Recorder(conn).applied()
        conn.exec_driver_sql("ALTER TABLE gitmig_migrations ADD COLUMN digest VARCHAR(64)")
        conn.commit()

    found = pgreader.read(postgres_url)

    assert found is not None and found.shown == display_url(postgres_url)
    assert list(found.applied.items()) == list(recorded.items())  # same rows, same order
    assert not found.unfinished


@pytest.mark.slow
def test_postgresql_nothing_to_do_and_listing_import_no_sqlalchemy(
        project: Project, postgres_url: str) -> None:
    two_migrations(project)
    migrate(project, postgres_url, "blog", "0001")
    listing, imported = run_imports(project, "showmigrations", "--database", postgres_url)
    assert listing.stdout == project.gitmig("showmigrations", "--database",
                                            postgres_url + "?connect_timeout=5").stdout
    assert "sqlalchemy" not in imported and "[ ] 0002_post_add_slug" in listing.stdout
    migrate(project, postgres_url)

    r, imported = run_imports(project, "migrate", "--database", postgres_url)

    assert (r.returncode, r.stdout) == (0, "No migrations to apply.\n"), r.stderr
    assert not imported & {"sqlalchemy", "psycopg", "alembic", "blog"}


@pytest.mark.slow
def test_postgresql_unfinished_run_is_left_to_the_full_path(project: Project,
                                                            postgres_url: str) -> None:
    from gitmig.db.connection import connect

    two_migrations(project)
    migrate(project, postgres_url)
    with connect(postgres_url) as conn:
        conn.exec_driver_sql("UPDATE gitmig_migrations SET progress = 'apply 0/1' "
                             "WHERE name = '0002_post_add_slug'")
        conn.commit()

    fast = migrate(project, postgres_url, code=2)

    same(fast, migrate(project, postgres_url + "?connect_timeout=5", code=2))
    assert "No migrations to apply" not in fast.stdout
