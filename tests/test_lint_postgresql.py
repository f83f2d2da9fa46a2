"""The lock rules proved on a real PostgreSQL server, not taken from its documentation.

While a migration runs in a child process, a second connection tries an INSERT with a
short lock_timeout: the unsafe form makes it wait (and give up), the safe form lets it
through. An index is built over a function that sleeps per row, so the INSERT happens
during the build itself; a constraint's lock is held open by a RunPython that waits for
the test to let it go. A concurrent build killed halfway leaves an INVALID index, which
the next migrate finds and builds again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project

pytestmark = pytest.mark.slow

SAFETY = 60.0

INITIAL = '''
import sqlalchemy as sa
from gitmig import ops

SLOW = """CREATE FUNCTION slow_id(i integer) RETURNS integer IMMUTABLE LANGUAGE plpgsql
AS $$ BEGIN PERFORM pg_sleep(0.03); RETURN i; END $$"""

parents = []
operations = [
    ops.CreateTable("author", sa.Column("id", sa.Integer(), primary_key=True)),
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("author_id", sa.Integer(), nullable=True)),
    ops.RunSQL([SLOW, "INSERT INTO author (id) VALUES (1)",
                "INSERT INTO post (id, author_id) SELECT g, 1 FROM generate_series(1, 100) g"],
               reverse_sql=["DROP FUNCTION slow_id"]),
]
'''

HOLD = '''
def hold(connection):
    folder = os.environ["GITMIG_TEST_SIGNALS"]
    open(os.path.join(folder, "inside"), "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(os.path.join(folder, "release")):
        if time.monotonic() > deadline:
            raise RuntimeError("never released")
        time.sleep(0.02)
'''


def migration(parents: str, operations: str, *, hold: bool = False) -> str:
    head = "import os\nimport time\n\nimport sqlalchemy as sa\nfrom gitmig import ops\n"
    return (head + (HOLD if hold else "") + f"\nparents = [{parents!r}]\noperations = [\n"
            + operations + "\n]\n")


@pytest.fixture
def pg(project: Project, postgres_url: str) -> Project:
    text = project.read("pyproject.toml").replace('"sqlite:///db.sqlite3"', repr(postgres_url)
                                                  .replace("'", '"'))
    project.write("pyproject.toml", text)
    project.write("blog/migrations/0001_initial.py", INITIAL)
    result = project.gitmig("migrate")
    assert result.exit_code == 0, result.output
    return project


@contextmanager
def migrating(project: Project, signals: Path) -> Iterator[subprocess.Popen[str]]:
    env = {**os.environ, "GITMIG_TEST_SIGNALS": str(signals)}
    child = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate"], cwd=project.root,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
    try:
        yield child
    finally:
        (signals / "release").touch()
        if child.poll() is None:
            try:
                child.wait(timeout=SAFETY)
            except subprocess.TimeoutExpired:
                child.kill()


def wait_until(check: Callable[[], bool], child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SAFETY
    while not check():
        assert child.poll() is None, child.communicate()[0]
        assert time.monotonic() < deadline, "the migration never got there"
        time.sleep(0.02)


def building(engine: sa.Engine) -> Callable[[], bool]:
    def check() -> bool:
        with engine.connect() as conn:
            return bool(conn.scalar(sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND datname = current_database() "  # the server is shared: this test's only
                "AND query ILIKE 'CREATE INDEX%' AND pid <> pg_backend_pid()")))
    return check


def insert_waits(engine: sa.Engine, row: int) -> bool:
    """True when an INSERT into post gives up waiting for a lock (lock_timeout 300 ms)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("SET lock_timeout = 300")
        try:
            conn.execute(sa.text("INSERT INTO post (id, author_id) VALUES (:i, 1)"), {"i": row})
            conn.commit()
        except sa.exc.OperationalError as exc:
            assert "lock timeout" in str(exc)
            return True
    return False


def locks_on_post(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.scalars(sa.text(
            "SELECT l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'post' AND l.granted AND l.pid <> pg_backend_pid() "
            "AND l.database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())")))


def applied(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT name FROM gitmig_migrations ORDER BY name")))


@pytest.mark.parametrize("concurrently", [False, True])
def test_an_index_build_blocks_inserts_unless_concurrent(
    pg: Project, postgres_url: str, tmp_path: Path, concurrently: bool
) -> None:
    pg.write("blog/migrations/0002_index.py", migration(
        "0001_initial",
        f'    ops.CreateIndex("ix_post_slow", "post", ["slow_id(id)"], '
        f"concurrently={concurrently}),"))
    lint = pg.gitmig("lint", "--unapplied")
    assert ("pg-index-not-concurrent" in lint.stdout) is not concurrently, lint.output
    engine = sa.create_engine(postgres_url)
    try:
        with migrating(pg, tmp_path) as child:
            wait_until(building(engine), child)
            held = locks_on_post(engine)
            assert insert_waits(engine, 1000) is not concurrently
            assert child.wait(timeout=SAFETY) == 0, child.communicate()[0]
        assert ("ShareLock" in held) is not concurrently, held
        assert ("ShareUpdateExclusiveLock" in held) is concurrently, held
        assert applied(engine) == ["0001_initial", "0002_index"]
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT indisvalid FROM pg_index i JOIN pg_class c "
                                       "ON c.oid = i.indexrelid WHERE relname = 'ix_post_slow'"))
    finally:
        engine.dispose()


FK = 'sa.ForeignKeyConstraint(["author_id"], ["author.id"], name="fk_post_author")'


@pytest.mark.parametrize("safe", [False, True])
def test_a_foreign_key_blocks_inserts_while_checked_unless_not_valid(
    pg: Project, postgres_url: str, tmp_path: Path, safe: bool
) -> None:
    """The lock taken while the rows are checked is held open (RunPython waits): adding
    the key checks rows under SHARE ROW EXCLUSIVE; VALIDATE CONSTRAINT under SHARE UPDATE
    EXCLUSIVE, which lets writes through."""
    if safe:
        pg.write("blog/migrations/0002_fk.py", migration(
            "0001_initial", f'    ops.AddConstraint("post", {FK}, validate=False),'))
        assert pg.gitmig("migrate").exit_code == 0
        pg.write("blog/migrations/0003_validate.py", migration(
            "0002_fk", '    ops.ValidateConstraint("post", "fk_post_author"),\n'
                       "    ops.RunPython(hold, ops.RunPython.noop),", hold=True))
    else:
        pg.write("blog/migrations/0002_fk.py", migration(
            "0001_initial", f'    ops.AddConstraint("post", {FK}),\n'
                            "    ops.RunPython(hold, ops.RunPython.noop),", hold=True))
    lint = pg.gitmig("lint", "--unapplied", "--json")
    assert ('"pg-constraint-not-valid"' in lint.stdout) is not safe, lint.output
    engine = sa.create_engine(postgres_url)
    try:
        with migrating(pg, tmp_path) as child:
            wait_until(lambda: (tmp_path / "inside").exists(), child)
            held = locks_on_post(engine)
            assert insert_waits(engine, 1000) is not safe
        assert child.returncode == 0, child.communicate()[0]
        assert ("ShareRowExclusiveLock" in held) is not safe, held
        with engine.connect() as conn:
            assert conn.scalar(sa.text(
                "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_post_author'"))
    finally:
        engine.dispose()


def test_a_killed_concurrent_build_is_rebuilt_by_the_next_migrate(
    pg: Project, postgres_url: str, tmp_path: Path
) -> None:
    pg.write("blog/migrations/0002_index.py", migration(
        "0001_initial",
        '    ops.CreateIndex("ix_post_slow", "post", ["slow_id(id)"], concurrently=True),'))
    engine = sa.create_engine(postgres_url)
    valid = sa.text("SELECT indisvalid FROM pg_index i JOIN pg_class c ON c.oid = "
                    "i.indexrelid WHERE relname = 'ix_post_slow'")
    try:
        with migrating(pg, tmp_path) as child:
            wait_until(building(engine), child)
            with engine.connect() as conn:  # the server loses the migrating connection
                conn.execute(sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                    "datname = current_database() AND query ILIKE 'CREATE INDEX%' "
                    "AND pid <> pg_backend_pid()"))
            assert child.wait(timeout=SAFETY) != 0
        with engine.connect() as conn:
            assert conn.scalar(valid) is False  # left INVALID by the killed build
        assert applied(engine) == ["0001_initial"]
        again = pg.gitmig("migrate")
        assert again.exit_code == 0, again.output
        with engine.connect() as conn:
            assert conn.scalar(valid) is True
        assert applied(engine) == ["0001_initial", "0002_index"]
    finally:
        engine.dispose()


def test_lock_timeout_gives_up_instead_of_queueing(pg: Project, postgres_url: str) -> None:
    """A table locked by someone else: with lock_timeout the migration gives up waiting
    (instead of queueing every query behind it), retried once, then reports it."""
    pg.write("pyproject.toml", pg.read("pyproject.toml").replace(
        "[tool.gitmig.apps]", "lock_timeout = 0.2\nlock_retries = 1\n\n[tool.gitmig.apps]"))
    pg.write("blog/migrations/0002_col.py", migration(
        "0001_initial", '    ops.AddColumn("post", sa.Column("x", sa.Integer())),'))
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql("LOCK TABLE post IN ACCESS SHARE MODE")
            started = time.monotonic()
            result = pg.gitmig("migrate")
            took = time.monotonic() - started
            holder.rollback()
        assert result.exit_code == 2, result.output
        assert "lock timeout" in result.output
        assert took < 10
        assert applied(engine) == ["0001_initial"]
        assert pg.gitmig("migrate").exit_code == 0  # the lock is gone
        assert applied(engine) == ["0001_initial", "0002_col"]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("change", "flagged"), [
    ('ops.AlterColumn("post", "author_id", type_=sa.BigInteger())', True),
    ('ops.AlterColumn("post", "author_id", type_=sa.Numeric(12, 0))', True),
    ('ops.AlterColumn("post", "note", type_=sa.String(80))', False),
    ('ops.AlterColumn("post", "note", type_=sa.Text())', False),
])
def test_a_type_change_flagged_as_rewriting_does_rewrite(
    pg: Project, postgres_url: str, change: str, flagged: bool
) -> None:
    """A rewrite gives the table new storage (pg_class.relfilenode changes)."""
    pg.write("blog/migrations/0002_note.py", migration(
        "0001_initial", '    ops.AddColumn("post", sa.Column("note", sa.String(40))),'))
    assert pg.gitmig("migrate").exit_code == 0
    pg.write("blog/migrations/0003_change.py", migration("0002_note", f"    {change},"))
    lint = pg.gitmig("lint", "--unapplied", "--json")
    assert ('"pg-type-rewrite"' in lint.stdout) is flagged, lint.output
    engine = sa.create_engine(postgres_url)
    storage = sa.text("SELECT relfilenode FROM pg_class WHERE relname = 'post'")
    try:
        with engine.connect() as conn:
            before = conn.scalar(storage)
        assert pg.gitmig("migrate").exit_code == 0
        with engine.connect() as conn:
            assert (conn.scalar(storage) != before) is flagged
    finally:
        engine.dispose()
