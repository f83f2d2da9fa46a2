"""A hostile trial of `migrate` with nothing to do answered without SQLAlchemy
(gitmig.actions.uptodate, gitmig.db.history.pgreader and sqlitereader.settled): in every
case it must print exactly what the full path prints, or leave the answer to it. The full
path is forced with a URL query option, which the fast path leaves to SQLAlchemy."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from .conftest import Project, Result
from .test_migrate import migrate, two_migrations


def full(url: str) -> str:
    return url + ("?timeout=5" if url.startswith("sqlite") else "?connect_timeout=5")


def same(fast: Result, slow: Result, url: str) -> None:
    """The same answer; the forced URL's query option aside."""
    assert (fast.exit_code, fast.stdout, fast.stderr) == (
        slow.exit_code, slow.stdout, slow.stderr.replace(full(url), url))


def both(project: Project, url: str, *args: str, code: int = 0) -> tuple[Result, Result]:
    """migrate on the fast and the forced full path, each on its own copy of the SQLite
    file (the full path may write: a column, a checksum)."""
    path = Path(url.removeprefix("sqlite:///"))
    copy = path.with_name("copy-" + path.name)
    copy.write_bytes(path.read_bytes())
    fast = migrate(project, url, *args, code=code)
    slow = migrate(project, full(f"sqlite:///{copy}"), *args, code=code)
    stderr = slow.stderr.replace(full(f"sqlite:///{copy}"), url).replace(str(copy), str(path))
    return fast, Result(slow.exit_code, slow.stdout, stderr)


def sql(url: str, *statements: str) -> None:
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        for statement in statements:
            conn.execute(statement)


@pytest.mark.parametrize("damage", [
    "UPDATE gitmig_migrations SET file_sha256 = NULL WHERE name = '0002_post_add_slug'",
    "ALTER TABLE gitmig_migrations DROP COLUMN file_sha256",
    "UPDATE gitmig_migrations SET checksum = 'abc' WHERE name = '0002_post_add_slug'",
    "INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
    "VALUES ('blog', '0009_gone', 'x', '2026-01-01 00:00:00')",
])
def test_doubtful_histories_say_what_the_full_path_says(project: Project, sqlite_url: str,
                                                         damage: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    sql(sqlite_url, damage)

    fast, slow = both(project, sqlite_url)

    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout,
                                                          slow.stderr)


def test_check_still_finds_drift(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    sql(sqlite_url, "ALTER TABLE post ADD COLUMN extra INTEGER")

    fast, slow = both(project, sqlite_url, "--check", code=1)

    assert "it has drifted from its applied migrations (1 difference" in fast.stderr
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)
    assert migrate(project, sqlite_url, "--check", "--no-drift-check").stdout == (
        "The database is up to date.\n")


def test_several_leaves_are_refused_as_before(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    second = project.root / "blog/migrations/0002_post_add_slug.py"
    other = second.with_name("0002_other.py")
    other.write_text(second.read_text().replace("slug", "other"))
    sql(sqlite_url, "CREATE TABLE IF NOT EXISTS x (id INTEGER)")

    fast, slow = both(project, sqlite_url, code=1)

    assert "latest" in fast.stderr
    assert (fast.stdout, fast.stderr) == (slow.stdout, slow.stderr)


# -- PostgreSQL through libpq -----------------------------------------------------------


@pytest.mark.slow  # waits out the connect timeout
def test_pgreader_gives_up_on_a_server_that_never_answers() -> None:
    """A listener that accepts and says nothing: no longer than the connect timeout."""
    from gitmig.config import Timeouts
    from gitmig.db.history import pgreader

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    held: list[object] = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    port = server.getsockname()[1]
    try:
        started = time.monotonic()
        assert pgreader.read(f"postgresql+psycopg://u:p@127.0.0.1:{port}/db",
                             Timeouts(2, None)) is None
        assert time.monotonic() - started < 6
    finally:
        server.close()


@pytest.fixture
def role(postgres_url: str) -> object:
    """A role whose password is full of what URLs and libpq treat specially."""
    password = "p@ss:w/o rd%+'\\\"?#[]é"
    name = f"gm_role_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    literal = password.replace("'", "''")
    with engine.connect() as conn:
        conn.execute(sa.text(f"CREATE ROLE {name} LOGIN SUPERUSER PASSWORD '{literal}'"))
    try:
        yield name, password
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f"DROP OWNED BY {name}"))
            conn.execute(sa.text(f"DROP ROLE {name}"))
        engine.dispose()


def test_odd_passwords_read_as_sqlalchemy_reads_them(project: Project, postgres_url: str,
                                                     role: tuple[str, str]) -> None:
    """Encoded, the password reads the history; written raw with an @ in it, SQLAlchemy
    takes the URL to be another (a host after the first @) and refuses it, and so must
    the fast path rather than answer for a database the full path cannot reach."""
    from gitmig.db.history import pgreader

    name, password = role
    parsed = sa.engine.make_url(postgres_url)
    base = f"postgresql+psycopg://{name}:%s@{parsed.host}:{parsed.port}/{parsed.database}"
    encoded = base % quote(password, safe="")
    two_migrations(project)
    migrate(project, encoded)
    found = pgreader.read(encoded)
    assert found is not None and len(found.applied) == 2
    assert migrate(project, encoded).stdout == "No migrations to apply.\n"
    raw = base % "p@ss"  # only the part before the second @ counts for SQLAlchemy

    fast = project.gitmig("migrate", "--database", raw)

    assert pgreader.read(raw) is None
    assert fast.exit_code != 0 and "No migrations to apply" not in fast.stdout


def test_a_held_migration_lock_is_left_to_the_full_path(project: Project,
                                                        postgres_url: str) -> None:
    """Another migrate holds the lock: the full path says it waits, then answers; the fast
    path must not answer before it."""
    from gitmig.db.backends.postgresql import LOCK_KEY
    from gitmig.db.history import pgreader

    assert pgreader.LOCK_KEY == LOCK_KEY
    two_migrations(project)
    migrate(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    holder = engine.connect()
    holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": LOCK_KEY})
    holder.commit()
    assert pgreader.read(postgres_url) is not None and pgreader.read(postgres_url).locked
    child = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                              postgres_url], cwd=project.root, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stderr is not None
        first = child.stderr.readline()  # the full path's line, or nothing: it answered
    finally:
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
        holder.commit()
        holder.close()
        engine.dispose()
    out, rest = child.communicate(timeout=60)
    r = subprocess.CompletedProcess(child.args, child.returncode, out, first + rest)

    assert r.returncode == 0, r.stderr
    assert "Waiting for another `gitmig migrate` on this database to finish" in r.stderr
    assert r.stdout == "No migrations to apply.\n"
    assert not pgreader.read(postgres_url).locked


def test_history_in_another_schema_on_the_search_path(project: Project,
                                                      postgres_url: str) -> None:
    """The database's search_path puts the history table in schema `app`: both paths
    read the same table."""
    database = sa.engine.make_url(postgres_url).database
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE SCHEMA app"))
        conn.execute(sa.text(f"ALTER DATABASE {database} SET search_path = app, public"))
    engine.dispose()
    two_migrations(project)
    migrate(project, postgres_url, "blog", "0001")
    migrate(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        where = conn.execute(sa.text("SELECT table_schema FROM information_schema.tables "
                                     "WHERE table_name = 'gitmig_migrations'")).scalars().all()
        conn.execute(sa.text("CREATE TABLE public.gitmig_migrations (app TEXT)"))  # a decoy
        conn.commit()
    engine.dispose()
    assert where == ["app"]

    fast = migrate(project, postgres_url)

    same(fast, migrate(project, full(postgres_url)), postgres_url)
    assert fast.stdout == "No migrations to apply.\n"


def test_a_squash_whose_row_is_missing_says_what_the_full_path_says(
        project: Project, sqlite_url: str) -> None:
    """Every original applied, the squash's row deleted by hand: the full path records it
    again (without a word); the fast path must leave it that to do."""
    from .test_squash import history

    history(project)
    migrate(project, sqlite_url)
    assert project.gitmig("squash", "blog", "0005").exit_code == 0
    assert migrate(project, sqlite_url).stdout == "No migrations to apply.\n"
    sql(sqlite_url, "DELETE FROM gitmig_migrations WHERE name LIKE '%squashed%'")

    fast, slow = both(project, sqlite_url)

    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout,
                                                          slow.stderr)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT count(*) FROM gitmig_migrations "
                            "WHERE name LIKE '%squashed%'").fetchone() == (1,)


def test_a_non_ascii_row_on_postgresql_is_refused_as_before(project: Project,
                                                            postgres_url: str) -> None:
    two_migrations(project)
    migrate(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
                             "VALUES ('blög', '0001_ïnitial', 'x', now())"))
        conn.commit()
    engine.dispose()

    fast = migrate(project, postgres_url, code=2)

    assert "records migrations of app 'blög'" in fast.stderr
    same(fast, migrate(project, full(postgres_url), code=2), postgres_url)


def test_a_legacy_checksum_is_upgraded_as_the_full_path_does(project: Project,
                                                             sqlite_url: str) -> None:
    from gitmig.config import load_config
    from gitmig.migrations.loader import load_graph

    two_migrations(project)
    migrate(project, sqlite_url)
    graph = load_graph(load_config(project.root / "pyproject.toml"))
    legacy = graph.nodes[("blog", "0002_post_add_slug")].legacy_checksum
    sql(sqlite_url, f"UPDATE gitmig_migrations SET checksum = '{legacy}' "
                    "WHERE name = '0002_post_add_slug'")

    fast, slow = both(project, sqlite_url)

    assert "upgraded the checksums of 1 applied migration" in fast.stderr
    assert (fast.exit_code, fast.stdout, fast.stderr) == (slow.exit_code, slow.stdout,
                                                          slow.stderr)
    assert migrate(project, sqlite_url).output == "No migrations to apply.\n"
