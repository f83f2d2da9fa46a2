"""`gitmig migrate --fake-initial`, and migrate's own drift check (a warning before
applying, a failure of `--check`)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .catalog import create_all_of_modules
from .conftest import Project, assert_refused
from .drifting import execute, make_project

SLUG_INDEX = "  + Add index ix_post_slug on post (slug)"


def history(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("gitmig_migrations"):
                return []
            return [tuple(r) for r in conn.execute(sa.text(
                "SELECT app, name FROM gitmig_migrations ORDER BY name"))]
    finally:
        engine.dispose()


def tables_without_history(p: Project, url: str, create_all: bool) -> None:
    """The tables of the models, made by another tool: `create_all` in a fresh
    interpreter, or (faster) gitmig's own migrate with its history dropped after."""
    if create_all:
        create_all_of_modules(p.root, url, "blog.models")
        assert p.gitmig("makemigrations").exit_code == 0
        return
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    execute(url, "DROP TABLE gitmig_migrations")


def check_fake_initial(tmp_path: Path, url: str, create_all: bool = True) -> None:
    p = make_project(tmp_path / "proj", url)
    tables_without_history(p, url, create_all)
    plain = p.gitmig("migrate")  # without the flag the first CREATE TABLE fails
    assert plain.exit_code == 2 and "post" in plain.stderr
    result = p.gitmig("migrate", "--fake-initial")
    assert result.exit_code == 0, result.output
    assert "Applying blog.0001_initial... FAKED" in result.stdout
    assert "--fake-initial: the tables of blog.0001_initial exist and match" in result.stderr
    assert history(url) == [("blog", "0001_initial")]
    assert p.gitmig("drift").exit_code == 0


def test_fake_initial_records_matching_tables_on_sqlite(tmp_path: Path,
                                                        sqlite_url: str) -> None:
    check_fake_initial(tmp_path, sqlite_url, create_all=False)


@pytest.mark.slow
def test_fake_initial_records_matching_tables_on_postgresql(tmp_path: Path,
                                                            postgres_url: str) -> None:
    check_fake_initial(tmp_path, postgres_url)


@pytest.mark.slow
def test_fake_initial_records_matching_tables_on_mariadb(tmp_path: Path,
                                                         mysql_url: str) -> None:
    check_fake_initial(tmp_path, mysql_url)


def test_fake_initial_refuses_tables_that_differ_and_lists_how(tmp_path: Path,
                                                               sqlite_url: str) -> None:
    p = make_project(tmp_path / "proj", sqlite_url)
    tables_without_history(p, sqlite_url, create_all=False)
    execute(sqlite_url, "ALTER TABLE post ADD COLUMN views INTEGER")
    before = p.snapshot()
    line = assert_refused(p.gitmig("migrate", "--fake-initial"), before, p.snapshot())
    assert line == (
        "gitmig: error: --fake-initial: the tables of blog.0001_initial exist but differ "
        "from what it makes (each is the change the database has beyond it): "
        "+ Add column post.views INTEGER")
    assert history(sqlite_url) == []


def test_migrate_warns_about_drift_and_check_fails_on_it(tmp_path: Path,
                                                         sqlite_url: str) -> None:
    p = make_project(tmp_path / "proj", sqlite_url)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    assert p.gitmig("migrate", "--check").exit_code == 0
    execute(sqlite_url, "CREATE INDEX ix_post_slug ON post (slug)")
    check = p.gitmig("migrate", "--check")
    assert check.exit_code == 1
    assert check.stderr == ("gitmig: the database is not up to date: it has drifted from its "
                            "applied migrations (1 difference; `gitmig drift` lists them); "
                            "put each change in a migration, or undo it in the database\n")
    p.write("blog/models.py", p.read("blog/models.py") + "    views: Mapped[int | None]\n")
    assert p.gitmig("makemigrations").exit_code == 0
    result = p.gitmig("migrate")
    assert result.exit_code == 0
    assert "the database has drifted from its applied migrations" in result.stderr
    assert SLUG_INDEX in result.stderr
    assert "Applying blog.0002_post_add_views... OK" in result.stdout


def test_no_drift_check(tmp_path: Path, sqlite_url: str) -> None:
    p = make_project(tmp_path / "proj", sqlite_url)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    execute(sqlite_url, "CREATE INDEX ix_post_slug ON post (slug)")
    assert p.gitmig("migrate", "--check", "--no-drift-check").exit_code == 0


def test_migrate_remembers_what_it_leaves_so_the_next_check_needs_no_scratch(
    tmp_path: Path, sqlite_url: str
) -> None:
    """After a migrate that began without drift, what the migrations make is known: the
    live catalog. The next drift check uses it (a scratch database would be killed here by
    GITMIG_FAULT), and finds what it would have found from a scratch database."""
    import os
    import subprocess
    import sys

    p = make_project(tmp_path / "proj", sqlite_url)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    assert p.gitmig("migrate", "--check").exit_code == 0  # learns 0001's catalog
    p.write("blog/models.py", p.read("blog/models.py") + "    views: Mapped[int | None]\n")
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0  # no drift before: remembers what it leaves
    execute(sqlite_url, "CREATE INDEX ix_post_slug ON post (slug)")
    env = {**os.environ, "GITMIG_FAULT": "scratch:1"}
    warm = subprocess.run([sys.executable, "-m", "gitmig", "drift"], cwd=p.root, env=env,
                          capture_output=True, text=True, timeout=120)
    assert warm.returncode == 1, warm.stderr
    cold = p.gitmig("drift", env={"GITMIG_NO_CACHE": "1"})
    assert cold.exit_code == 1
    assert warm.stdout == cold.stdout
    assert "  + Add index ix_post_slug on post (slug)\n" in warm.stdout
