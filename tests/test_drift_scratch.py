"""The scratch databases behind drift, fake-initial and adopt: gone after every run,
killed runs included; a missing privilege is one line; `--scratch-url`; ignore_tables."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import POSTGRES_URL, Project, assert_refused
from .drifting import execute, make_project

NO_CACHE = {"GITMIG_NO_CACHE": "1"}


def migrated(tmp_path: Path, url: str) -> Project:
    p = make_project(tmp_path / "proj", url)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    return p


def scratch_databases(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                names = conn.scalars(sa.text("SELECT datname FROM pg_database"))
            else:
                names = conn.scalars(sa.text("SHOW DATABASES"))
            return [n for n in names if n.startswith("gitmig_scratch_")]
    finally:
        engine.dispose()


def scratch_folders(pid: int) -> list[str]:
    return [n for n in os.listdir(tempfile.gettempdir())
            if n.startswith(f"gitmig-scratch-{pid}-")]


def killed_drift(p: Project, url: str) -> int:
    """`gitmig drift` killed while its scratch database exists; returns its pid."""
    env = {**os.environ, "GITMIG_FAULT": "scratch:1", "GITMIG_DATABASE_URL": url,
           "GITMIG_NO_CACHE": "1"}  # a remembered catalog would need no scratch
    child = subprocess.Popen([sys.executable, "-m", "gitmig", "drift"], cwd=p.root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child.communicate(timeout=120)
    assert child.returncode == 137
    return child.pid


@pytest.mark.slow
def test_a_killed_run_leaves_a_sqlite_scratch_the_next_run_removes(
    tmp_path: Path, sqlite_url: str
) -> None:
    p = migrated(tmp_path, sqlite_url)
    assert p.gitmig("drift").exit_code == 0
    pid = killed_drift(p, sqlite_url)
    assert len(scratch_folders(pid)) == 1
    assert p.gitmig("drift", env=NO_CACHE).exit_code == 0
    assert scratch_folders(pid) == []


@pytest.mark.slow
@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_a_killed_run_leaves_a_scratch_database_the_next_run_drops(
    request: pytest.FixtureRequest, tmp_path: Path, server: str
) -> None:
    url = str(request.getfixturevalue(server))
    p = migrated(tmp_path, url)
    before = set(scratch_databases(url))
    pid = killed_drift(p, url)
    # Only this test's runs count: tests on other pytest-xdist workers make and drop
    # scratch databases on the same server meanwhile.
    runs = (f"_{pid}_", f"_{os.getpid()}_")  # the killed run, then the next one (in here)
    left = [n for n in scratch_databases(url) if n not in before and runs[0] in n]
    assert len(left) == 1 and f"_{pid}_" in left[0]
    assert p.gitmig("drift", env=NO_CACHE).exit_code == 0
    assert left[0] not in scratch_databases(url)  # dropped by the next run
    assert not [n for n in scratch_databases(url)  # and its own is gone too
                if n not in before and any(run in n for run in runs)]


@pytest.fixture
def unprivileged(postgres_url: str) -> tuple[str, str]:
    """A role without CREATEDB that may read the database at postgres_url, and an empty
    database it owns (for --scratch-url)."""
    role = f"gm_role_{uuid.uuid4().hex[:8]}"
    own = f"gm_own_{uuid.uuid4().hex[:8]}"
    assert POSTGRES_URL
    execute(POSTGRES_URL, f"CREATE ROLE {role} LOGIN")
    execute(POSTGRES_URL, f"CREATE DATABASE {own} OWNER {role}")
    base = sa.engine.make_url(postgres_url).set(username=role)
    try:
        yield (base.render_as_string(hide_password=False),
               base.set(database=own).render_as_string(hide_password=False))
    finally:
        execute(POSTGRES_URL, f"DROP DATABASE IF EXISTS {own} WITH (FORCE)")
        execute(postgres_url, f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}")
        execute(POSTGRES_URL, f"DROP ROLE IF EXISTS {role}")


@pytest.mark.slow
def test_without_the_privilege_one_line_says_which_and_scratch_url_helps(
    tmp_path: Path, postgres_url: str, unprivileged: tuple[str, str]
) -> None:
    p = migrated(tmp_path, postgres_url)
    user_url, own_url = unprivileged
    role = sa.engine.make_url(user_url).username
    execute(postgres_url, f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
    before = p.snapshot()
    result = p.gitmig("drift", "--database", user_url)
    line = assert_refused(result, before, p.snapshot())
    assert line.startswith("gitmig: error: cannot create a scratch database on ")
    assert "permission denied to create database" in line
    assert result.stderr.splitlines()[1] == (
        "hint: the comparison needs CREATEDB (ALTER ROLE ... CREATEDB); or pass "
        "--scratch-url URL of an empty database gitmig may use")
    ok = p.gitmig("drift", "--database", user_url, "--scratch-url", own_url)
    assert ok.exit_code == 0, ok.output
    assert "No drift" in ok.stdout
    engine = sa.create_engine(own_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:  # emptied again
            assert sa.inspect(conn).get_table_names() == []
    finally:
        engine.dispose()


def test_scratch_url_must_be_empty(tmp_path: Path, sqlite_url: str) -> None:
    p = migrated(tmp_path, sqlite_url)
    busy = f"sqlite:///{tmp_path / 'busy.sqlite3'}"
    execute(busy, "CREATE TABLE precious (id INTEGER)")
    before = p.snapshot()
    result = p.gitmig("drift", "--scratch-url", busy)
    line = assert_refused(result, before, p.snapshot())
    assert line == (f"gitmig: error: the scratch database {busy} is not empty (it holds "
                    "precious)")
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    assert p.gitmig("drift", "--scratch-url", empty).exit_code == 0


def test_ignore_tables(tmp_path: Path, sqlite_url: str) -> None:
    p = migrated(tmp_path, sqlite_url)
    execute(sqlite_url, "CREATE TABLE legacy_log (id INTEGER)")
    execute(sqlite_url, "CREATE TABLE other (id INTEGER)")
    assert "Unmanaged tables (in no app; [tool.gitmig] ignore_tables hides them):\n" \
           "  legacy_log\n  other\n" in p.gitmig("drift").stdout
    p.write("pyproject.toml", p.read("pyproject.toml").replace(
        "[tool.gitmig.apps]", 'ignore_tables = ["legacy_*", "other"]\n\n[tool.gitmig.apps]'))
    result = p.gitmig("drift")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[1:] == [
        "No drift: the database is what its applied migrations make."]


def test_scratch_url_is_not_the_database_itself(tmp_path: Path, sqlite_url: str) -> None:
    p = migrated(tmp_path, sqlite_url)
    execute(sqlite_url, "CREATE INDEX ix_post_slug ON post (slug)")
    before = p.snapshot()
    line = assert_refused(p.gitmig("drift", "--scratch-url", sqlite_url, env=NO_CACHE),
                          before, p.snapshot())
    assert line == ("gitmig: error: --scratch-url names the database being compared; give "
                    "it an empty database of its own")


@pytest.mark.slow
def test_without_the_privilege_on_mariadb_one_line_says_which(tmp_path: Path,
                                                              mysql_url: str) -> None:
    p = migrated(tmp_path, mysql_url)
    user = f"gm_u_{uuid.uuid4().hex[:8]}"
    database = sa.engine.make_url(mysql_url).database
    execute(mysql_url, f"CREATE USER '{user}'@'%'")
    try:
        execute(mysql_url, f"GRANT SELECT ON {database}.* TO '{user}'@'%'")
        user_url = sa.engine.make_url(mysql_url).set(username=user).render_as_string(
            hide_password=False)
        before = p.snapshot()
        result = p.gitmig("drift", "--database", user_url, env=NO_CACHE)
        line = assert_refused(result, before, p.snapshot())
        assert line.startswith("gitmig: error: cannot create a scratch database on ")
        assert "denied" in line
        assert result.stderr.splitlines()[1] == (
            "hint: the comparison needs CREATE and DROP on the server (GRANT CREATE, DROP "
            "ON *.* TO ...); or pass --scratch-url URL of an empty database gitmig may use")
    finally:
        execute(mysql_url, f"DROP USER IF EXISTS '{user}'@'%'")
