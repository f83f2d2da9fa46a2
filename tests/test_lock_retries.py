"""A migration that times out waiting for a lock is tried again, on the real servers.

A second connection holds a lock on `post` in an open transaction while `gitmig migrate`
runs with a short lock timeout. For the retry that succeeds, a thread watches the server
(pg_locks, MariaDB's processlist) until the migration's statement has been seen waiting
and then no longer waiting (its first attempt gave up), and only then commits: the next
attempt gets the lock. For retries exhausted, the lock is held throughout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from .conftest import Project, Result, assert_refused

pytestmark = pytest.mark.slow

INITIAL = '''
import sqlalchemy as sa
from gitmig import ops

parents = []
operations = [
    ops.CreateTable("author", sa.Column("id", sa.Integer(), primary_key=True)),
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True)),
]
'''

ADD_X = '    ops.AddColumn("{table}", sa.Column("x", sa.Integer(), nullable=True)),\n'


@dataclass(frozen=True)
class Server:
    """What differs per database: how to hold the lock, and how a waiter shows."""

    url: str
    hold: str  # run in an open transaction: keeps the migration's ALTER TABLE waiting
    waiting: str  # a count of the migration's ALTER TABLE post waiting for its lock
    timeout: float  # MariaDB's lock_wait_timeout has whole seconds only
    per_file: bool  # the settings at the top of the migration, else in [tool.gitmig]
    blocks_catalog: bool  # the lock held keeps out reading post's columns (drift check)


def postgresql(url: str) -> Server:
    return Server(
        url, "LOCK TABLE post IN ACCESS EXCLUSIVE MODE",
        "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
        "WHERE NOT l.granted AND a.datname = current_database() "
        "AND a.query LIKE 'ALTER TABLE post%'",
        0.3, per_file=False, blocks_catalog=True)


def mariadb(url: str) -> Server:
    return Server(
        url, "SELECT * FROM post",  # its metadata lock lasts until the transaction ends
        "SELECT count(*) FROM information_schema.processlist WHERE db = DATABASE() "
        "AND state LIKE 'Waiting for table metadata lock%' AND info LIKE 'ALTER TABLE post%'",
        1.0, per_file=True, blocks_catalog=False)


@pytest.fixture(params=["postgresql", "mysql"])
def server(request: pytest.FixtureRequest) -> Server:
    if request.param == "postgresql":
        return postgresql(str(request.getfixturevalue("postgres_url")))
    return mariadb(str(request.getfixturevalue("mysql_url")))


def setup(project: Project, server: Server, retries: int, tables: tuple[str, ...]) -> None:
    """The initial migration applied, then one adding column x to `tables` in order."""
    settings = f"lock_timeout = {server.timeout}\nlock_retries = {retries}\n"
    config = project.read("pyproject.toml").replace('"sqlite:///db.sqlite3"', f'"{server.url}"')
    if not server.per_file:
        config = config.replace("[tool.gitmig.apps]", settings + "\n[tool.gitmig.apps]")
    project.write("pyproject.toml", config)
    project.write("blog/migrations/0001_initial.py", INITIAL)
    first = project.gitmig("migrate")
    assert first.exit_code == 0, first.output
    project.write("blog/migrations/0002_x.py",
                  "import sqlalchemy as sa\nfrom gitmig import ops\n\n"
                  + (settings if server.per_file else "")
                  + 'parents = ["0001_initial"]\noperations = [\n'
                  + "".join(ADD_X.format(table=t) for t in tables) + "]\n")


def history(engine: sa.Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT name FROM gitmig_migrations ORDER BY name")))


def columns(engine: sa.Engine, table: str) -> list[str]:
    return [c["name"] for c in sa.inspect(engine).get_columns(table)]


class Releaser(threading.Thread):
    """Commits the holder once the migration's first attempt has given up: its statement
    seen waiting for the lock, then seen no longer waiting (the retry's pause)."""

    def __init__(self, holder: sa.Connection, waiting: Callable[[], int]) -> None:
        super().__init__(daemon=True)
        self.holder, self.waiting = holder, waiting
        self.finished = threading.Event()  # migrate returned: stop watching
        self.seen: list[str] = []

    def run(self) -> None:
        deadline = time.monotonic() + 60
        try:
            while not self.finished.is_set() and time.monotonic() < deadline:
                if self.waiting():
                    if not self.seen:
                        self.seen.append("waiting")
                elif self.seen:
                    self.seen.append("gave up")
                    break
                time.sleep(0.02)
        finally:
            self.holder.commit()


def test_a_migration_that_timed_out_on_a_lock_is_retried_and_applied_once(
    project: Project, server: Server
) -> None:
    # On PostgreSQL the lock times out at the second operation: the first is rolled back
    # with it, and the retry runs both again.
    tables = ("post",) if server.per_file else ("author", "post")
    setup(project, server, retries=3, tables=tables)
    engine = sa.create_engine(server.url, poolclass=sa.NullPool)
    try:
        with engine.connect() as watcher, engine.connect() as holder:
            holder.exec_driver_sql(server.hold)
            def waiting() -> int:
                count = int(watcher.scalar(sa.text(server.waiting)) or 0)
                watcher.rollback()
                return count

            releaser = Releaser(holder, waiting)
            releaser.start()
            try:
                result = project.gitmig("migrate")
            finally:
                releaser.finished.set()
                releaser.join(timeout=60)
        assert releaser.seen == ["waiting", "gave up"]
        assert result.exit_code == 0, result.output
        # The drift check's catalog read waits no longer than lock_timeout either.
        assert ("warning: drift not checked: reading the catalog waited for a lock longer "
                f"than lock_timeout ({server.timeout:g} s)" in result.stderr
                ) is server.blocks_catalog, result.stderr
        retries = [line for line in result.stdout.splitlines() if "retrying" in line]
        assert retries, result.output
        assert retries[0].startswith("Applying blog.0002_x... lock timeout after ")
        assert (f"waiting at operation {len(tables)} of {len(tables)} (Add column x to post), "
                "attempt 1 of 4; retrying in 0.5 s") in retries[0], retries[0]
        assert result.stdout.rstrip().splitlines()[-1].startswith("Applying blog.0002_x... OK")
        assert history(engine) == ["0001_initial", "0002_x"]  # one row: applied once
        for table in tables:
            assert columns(engine, table) == ["id", "x"]
    finally:
        engine.dispose()


def test_retries_exhausted_say_so_in_one_line_and_apply_nothing(
    project: Project, server: Server
) -> None:
    setup(project, server, retries=1, tables=("post",))
    engine = sa.create_engine(server.url, poolclass=sa.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql(server.hold)
            result = project.gitmig("migrate")
            holder.rollback()
        stderr = result.stderr
        if server.blocks_catalog:  # the drift check's warning (see the test above) first
            warning, _, stderr = stderr.partition("\n")
            assert warning.startswith("warning: drift not checked"), result.stderr
        error = assert_refused(Result(result.exit_code, result.stdout, stderr))
        assert error.startswith("gitmig: error: applying blog.0002_x failed at operation 1 of 1 "
                                "(Add column x to post): it waited for a lock longer than "
                                f"lock_timeout ({server.timeout:g} s) on all 2 attempts "
                                "(lock_retries = 1)"), error
        assert "Its changes were rolled back" in error, error
        assert "hint: another session holds a lock on the table" in result.stderr
        assert "raise lock_timeout or lock_retries" in result.stderr
        assert len([x for x in result.stdout.splitlines() if "retrying" in x]) == 1
        assert history(engine) == ["0001_initial"]
        assert columns(engine, "post") == ["id"]
        again = project.gitmig("migrate")  # the lock gone, nothing left in the way
        assert again.exit_code == 0, again.output
        assert history(engine) == ["0001_initial", "0002_x"]
    finally:
        engine.dispose()


def test_a_migration_not_atomic_is_not_retried_once_an_operation_committed(
    project: Project, postgres_url: str
) -> None:
    """Its first operation committed on its own: running it again would fail on what that
    did, so the lock timeout at the second ends the run, which says what stays."""
    server = postgresql(postgres_url)
    setup(project, server, retries=2, tables=("author", "post"))
    path = "blog/migrations/0002_x.py"
    project.write(path, project.read(path).replace("parents", "atomic = False\n\nparents"))
    engine = sa.create_engine(postgres_url, poolclass=sa.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql(server.hold)
            result = project.gitmig("migrate")
            holder.rollback()
        assert result.exit_code == 2, result.output
        assert "retrying" not in result.stdout, result.stdout
        error = next(x for x in result.stderr.splitlines() if x.startswith("gitmig: error:"))
        assert ("(Add column x to post): it waited for a lock longer than lock_timeout (0.3 s) "
                "on attempt 1 of 3, and was not tried again because part of it had already "
                "committed") in error, error
        assert ("The migration is not atomic, so the operations before it committed and stay: "
                "1. Add column x to author. gitmig_migrations is unchanged") in error, error
        assert "`gitmig migrate blog 0002_x --fake`" in error
        assert "rolled back" not in error
        assert "hint:" not in result.stderr  # "run migrate again" would fail on author.x
        assert history(engine) == ["0001_initial"]
        assert columns(engine, "author") == ["id", "x"]
        assert columns(engine, "post") == ["id"]
    finally:
        engine.dispose()
