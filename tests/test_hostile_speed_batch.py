"""A hostile trial of migrations batched in savepoints (gitmig.db.batch): a real `python -m
gitmig migrate` child applying many small migrations (each alone in no transaction of its
own, so they share commits) is interrupted with Ctrl-C, killed with SIGKILL, or loses its
connection in the middle of a batch. What it printed OK must be applied, or said to be
lost; nothing is ever half applied, and the next run finishes the job."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project

pytestmark = pytest.mark.slow  # children killed and interrupted

N = 120

TABLE = '''import sqlalchemy as sa

from gitmig import ops

parents = {parents!r}
operations = [
    ops.CreateTable("t{i}", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
]
'''


@pytest.fixture(params=["sqlite", "postgresql"])
def batching_url(request: pytest.FixtureRequest) -> str:
    """The databases whose DDL is transactional, where migrations share commits (MariaDB
    commits each DDL statement: no batches)."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}[request.param]
    return str(request.getfixturevalue(fixture))


def many(project: Project, n: int = N) -> None:
    """n migrations, each creating one table: nothing in them may commit by itself, so
    they run batched."""
    for i in range(1, n + 1):
        parents = [f"{i - 1:04d}_t{i - 1}"] if i > 1 else []
        project.write(f"blog/migrations/{i:04d}_t{i}.py", TABLE.format(parents=parents, i=i))


def applied_and_tables(url: str) -> tuple[set[str], set[str]]:
    """(the history's migration names, the migration tables t1..tN) as table names."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = set(sa.inspect(conn).get_table_names())
            rows = (conn.execute(sa.text("SELECT name FROM gitmig_migrations")).scalars().all()
                    if "gitmig_migrations" in names else [])
    finally:
        engine.dispose()
    return {r.split("_", 1)[1] for r in rows}, {t for t in names if t[:1] == "t" and
                                                t[1:].isdigit()}


def run_until(project: Project, url: str, oks: int, act: object
              ) -> tuple[int, list[str], str]:
    """migrate in a child; after its `oks`-th OK line call act(child); then (its exit
    status, the migrations it printed OK, its stderr)."""
    assert callable(act)
    child = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                             cwd=project.root, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert child.stdout is not None
    out = ""
    while out.count(" OK (") < oks:
        line = child.stdout.readline()
        assert line, f"the run ended first: {out}"
        out += line
    act(child)
    rest, err = child.communicate(timeout=120)
    out += rest
    ok = re.findall(r"blog\.\d{4}_(t\d+)\.\.\. OK \(", out)
    return child.returncode, ok, err


def consistent(url: str) -> set[str]:
    """Every table has its history row and every row its table; the applied ones."""
    applied, tables = applied_and_tables(url)
    assert applied == tables, "half applied: a table without its row, or a row without it"
    return applied


def finishes(project: Project, url: str) -> None:
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                       cwd=project.root, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert consistent(url) == {f"t{i}" for i in range(1, N + 1)}


@pytest.mark.parametrize("oks", [1, 3, 25])
def test_ctrl_c_mid_batch_keeps_what_was_printed_ok(project: Project, batching_url: str,
                                                    oks: int) -> None:
    many(project)

    code, ok, err = run_until(project, batching_url, oks,
                              lambda child: child.send_signal(signal.SIGINT))

    assert code == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "gitmig: aborted"
    assert set(ok) <= consistent(batching_url), "a migration printed OK is not applied"
    finishes(project, batching_url)


def test_sigkill_mid_batch_loses_the_batch_whole(project: Project, batching_url: str) -> None:
    """The README's promise: a killed run leaves exactly the migrations its history names,
    and the next one carries on."""
    many(project)

    code, ok, _ = run_until(project, batching_url, 30, lambda child: child.kill())

    assert code == -signal.SIGKILL
    assert consistent(batching_url) <= set(ok)
    finishes(project, batching_url)


def test_a_connection_lost_mid_batch_is_said_not_reported_applied(
        project: Project, postgres_url: str) -> None:
    """The server ends the session while migrations printed OK await their commit: the
    failure names them as not applied, without a traceback."""
    many(project)
    database = sa.engine.make_url(postgres_url).database

    def terminate(child: subprocess.Popen[str]) -> None:
        engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :d AND pid <> pg_backend_pid()"),
                         {"d": database})
            conn.commit()
        engine.dispose()

    code, ok, err = run_until(project, postgres_url, 20, terminate)

    assert code == 2 and "Traceback" not in err, err
    applied = consistent(postgres_url)
    lost = set(ok) - applied
    assert "gitmig: error:" in err
    for name in lost:
        assert f"_{name}," in err or f"_{name} is applied" in err, err  # named as lost
    if lost:
        assert "is applied. Run gitmig migrate again" in err
    finishes(project, postgres_url)


def test_a_failure_mid_batch_keeps_the_ones_before(project: Project, batching_url: str
                                                   ) -> None:
    many(project, 8)
    engine = sa.create_engine(batching_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE t5 (id INTEGER)"))  # 0005 will fail
        conn.commit()
    engine.dispose()

    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                        batching_url], cwd=project.root, capture_output=True, text=True)

    assert r.returncode == 2
    assert r.stdout.splitlines()[-1] == "Applying blog.0005_t5... FAILED"
    assert "Its changes were rolled back; the migrations before it stay as they are" in r.stderr
    applied, _ = applied_and_tables(batching_url)
    assert applied == {"t1", "t2", "t3", "t4"}


def test_run_sql_that_commits_runs_alone(project: Project, postgres_url: str) -> None:
    """A RunSQL with its own COMMIT/BEGIN amid batched migrations: the ones before it are
    committed first, so its COMMIT takes nothing with it that a later failure needs."""
    many(project, 6)
    path = project.root / "blog/migrations/0004_t4.py"
    path.write_text(path.read_text().replace(
        "operations = [\n",
        "operations = [\n    ops.RunSQL('COMMIT; BEGIN', 'SELECT 1'),\n"))
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TABLE t6 (id INTEGER)"))  # 0006 will fail
        conn.commit()
    engine.dispose()

    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                        postgres_url], cwd=project.root, capture_output=True, text=True)

    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stdout.splitlines()[-1] == "Applying blog.0006_t6... FAILED"
    applied, tables = applied_and_tables(postgres_url)
    assert applied == {"t1", "t2", "t3", "t4", "t5"}
    assert tables == applied | {"t6"}


def test_fake_and_squash_rows_inside_batches(project: Project, sqlite_url: str,
                                             tmp_path: Path) -> None:
    """--fake records rows batched; what it recorded is what a later real run sees."""
    many(project, 10)
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "blog", "0006",
                        "--fake", "--database", sqlite_url], cwd=project.root,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("FAKED") == 6
    applied, tables = applied_and_tables(sqlite_url)
    assert applied == {f"t{i}" for i in range(1, 7)} and not tables
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database", sqlite_url,
                        "--no-drift-check"], cwd=project.root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert applied_and_tables(sqlite_url)[1] == {f"t{i}" for i in range(7, 11)}


def test_a_lock_timeout_retried_after_migrations_in_an_open_batch(project: Project,
                                                                  postgres_url: str) -> None:
    """The server's own lock_timeout (gitmig sets none, so the migrations are batched) and
    lock_retries: the migration that waited gives up in its savepoint; those before it stay
    applied, whether the retry fails too (here) or not."""
    database = sa.engine.make_url(postgres_url).database
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f"ALTER DATABASE {database} SET lock_timeout = '300ms'"))
        conn.commit()
    config = project.read("pyproject.toml")
    project.write("pyproject.toml", config.replace("[tool.gitmig.apps]",
                                                  "lock_retries = 1\n\n[tool.gitmig.apps]"))
    many(project, 4)
    path = project.root / "blog/migrations/0003_t3.py"
    path.write_text(path.read_text().replace(
        'ops.CreateTable("t3", sa.Column("id", sa.Integer(), primary_key=True, '
        'nullable=False)),',
        'ops.AddColumn("t1", sa.Column("x", sa.Integer(), nullable=True)),'))
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "blog", "0001",
                        "--database", postgres_url], cwd=project.root, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    holder = engine.connect()
    holder.execute(sa.text("LOCK TABLE t1 IN ACCESS EXCLUSIVE MODE"))
    try:
        r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                            postgres_url], cwd=project.root, capture_output=True, text=True,
                           timeout=120)
    finally:
        holder.rollback()
        holder.close()
        engine.dispose()

    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "attempt 1 of 2; retrying" in r.stdout
    assert "on all 2 attempts (lock_retries = 1)" in r.stderr
    assert "the migrations before it stay as they are" in r.stderr
    assert applied_and_tables(postgres_url)[0] == {"t1", "t2"}
    finishes_to = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                                  postgres_url], cwd=project.root, capture_output=True,
                                 text=True)
    assert finishes_to.returncode == 0, finishes_to.stderr
    assert applied_and_tables(postgres_url)[0] == {"t1", "t2", "t3", "t4"}


ENUM_POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(sa.Enum({values}, name="status"){default})
"""


def test_an_enum_value_added_is_committed_before_the_next_migration_uses_it(
        project: Project, postgres_url: str) -> None:
    """PostgreSQL lets a value added in place be used only once its transaction commits:
    batched with the migration after it, which makes it the column's default, the run
    failed."""
    from .test_migrate import make, models

    models(project, ENUM_POST.format(values='"draft", "published"', default=""))
    make(project)
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                        postgres_url], cwd=project.root, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    values = '"draft", "published", "archived"'
    models(project, ENUM_POST.format(values=values, default=""))
    make(project)
    models(project, ENUM_POST.format(values=values, default=', server_default="archived"'))
    make(project)

    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database",
                        postgres_url], cwd=project.root, capture_output=True, text=True)

    assert r.returncode == 0, r.stderr
    assert r.stdout.count(" OK (") == 2


def test_a_batch_whose_commit_fails_is_said_not_reported_applied(project: Project,
                                                                 postgres_url: str) -> None:
    """A deferred constraint on the history table (a DBA's trigger, say) refuses the batch
    at its commit: the error names the migrations printed OK that may not be applied.
    (Batches happen only in a database with no table of its own yet: 0001 is faked, and
    the DBA's table is in a schema of its own.)"""
    many(project, 6)
    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "blog", "0001", "--fake",
                        "--database", postgres_url], cwd=project.root, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE SCHEMA dba"))
        conn.execute(sa.text("CREATE TABLE dba.allowed (name VARCHAR(255) PRIMARY KEY)"))
        conn.execute(sa.text("INSERT INTO dba.allowed VALUES ('0001_t1'), ('0002_t2')"))
        conn.execute(sa.text("ALTER TABLE gitmig_migrations ADD CONSTRAINT only_allowed "
                             "FOREIGN KEY (name) REFERENCES dba.allowed (name) "
                             "DEFERRABLE INITIALLY DEFERRED"))
        conn.commit()
    engine.dispose()

    r = subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--no-drift-check",
                        "--database", postgres_url], cwd=project.root, capture_output=True,
                       text=True)

    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "blog.0006_t6... OK" in r.stdout
    assert r.stderr.startswith("gitmig: error: the commit of the 5 migration(s) reported OK")
    assert "blog.0002_t2, blog.0003_t3" in r.stderr and "only_allowed" in r.stderr
    assert applied_and_tables(postgres_url) == ({"t1"}, set())
