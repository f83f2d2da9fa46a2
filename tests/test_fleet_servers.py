"""Fleets on the real servers: PostgreSQL databases and tenant schemas, MariaDB databases,
SQLite files and a second PostgreSQL cluster in one fleet; runs killed at random points
and resumed; runs and overlapping shards racing. Each run is a real `gitmig` process.

Slow: every test here starts processes and makes databases. The second cluster is made
by `second_postgres` below (pg_createcluster, as root), or the test is skipped saying why.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import MYSQL_URL, Result
from .fleetkit import assert_all_consistent, assert_consistent, fleet_project

pytestmark = pytest.mark.slow


def gitmig(root: Path, *args: str, timeout: float = 300) -> Result:
    r = subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=root, capture_output=True,
                       text=True, timeout=timeout)
    return Result(r.returncode, r.stdout, r.stderr)


def start(root: Path, *args: str) -> subprocess.Popen[str]:
    """A run in its own process group, so that killing it kills its workers too (as an
    orchestrator kills a job)."""
    return subprocess.Popen([sys.executable, "-m", "gitmig", *args], cwd=root, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def applied_count(stdout: str) -> int:
    match = re.search(r"\((\d+) migrations? applied", stdout)
    assert match, stdout
    return int(match[1])


def server_databases(admin_url: str | None, count: int, what: str,
                     drop: bool = True) -> Iterator[list[str]]:
    if not admin_url:
        pytest.skip(f"{what} is not set")
    kind = sa.engine.make_url(admin_url).get_backend_name()
    names = [f"gmf_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    engine = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT",
                              poolclass=sa.pool.NullPool)
    made = []
    try:
        with engine.connect() as conn:
            for name in names:
                conn.execute(sa.text(f"CREATE DATABASE {name}"))
                made.append(name)
        base = sa.engine.make_url(admin_url)
        yield [base.set(database=n).render_as_string(hide_password=False) for n in names]
    finally:
        force = " WITH (FORCE)" if kind == "postgresql" else ""
        with engine.connect() as conn:
            for name in made if drop else []:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}{force}"))
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def second_postgres() -> Iterator[str]:
    """A second PostgreSQL server on another port, made for this session and dropped after
    (Debian's pg_createcluster, run as root), so that one fleet spans two servers."""
    if shutil.which("pg_createcluster") is None or not Path("/usr/lib/postgresql").is_dir():
        pytest.skip("a second PostgreSQL cluster needs Debian's postgresql-common "
                    "(pg_createcluster) and a PostgreSQL server installed")
    if os.geteuid() != 0:
        pytest.skip("creating a second PostgreSQL cluster needs root (pg_createcluster)")
    version = max(Path("/usr/lib/postgresql").iterdir(), key=lambda p: float(p.name)).name
    name, port = f"gmfleet{os.getpid()}", _free_port()
    made = subprocess.run(
        ["pg_createcluster", version, name, "--port", str(port),
         "-o", "fsync=off", "-o", "synchronous_commit=off", "-o", "full_page_writes=off", "--",
         "--auth-host=trust", "--auth-local=trust", "--no-sync"],
        capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"pg_createcluster failed: {made.stderr.strip()[-300:]}")
    try:
        started = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name,
                                  "start"], capture_output=True, text=True)
        if started.returncode != 0:
            pytest.skip(f"pg_ctlcluster could not start it: {started.stderr.strip()[-300:]}")
        url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        for _ in range(50):
            try:
                with engine.connect():
                    break
            except sa.exc.OperationalError:
                time.sleep(0.2)
        engine.dispose()
        yield url
    finally:  # nothing to keep: stopped at once (no checkpoint), dropped in the background
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "stop",
                        "-m", "immediate"], capture_output=True)
        subprocess.Popen(["pg_dropcluster", version, name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)


@pytest.fixture
def pg_databases(second_postgres: str) -> Iterator[list[str]]:
    """On the second server: dropped with it, which costs less than a drop each."""
    yield from server_databases(second_postgres, 20, "the second cluster", drop=False)


@pytest.fixture
def mariadb_databases() -> Iterator[list[str]]:
    yield from server_databases(MYSQL_URL, 10, "GITMIG_TEST_MYSQL_URL")


def test_one_fleet_over_two_postgresql_servers_schemas_mariadb_and_files(  # ~40 s
        tmp_path, postgres_url, pg_databases, mariadb_databases):
    schemas = [f"tenant_{i:02d}" for i in range(50)]
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # the directory of tenants, in the tenants' database
        conn.execute(sa.text("CREATE TABLE tenants (schema_name TEXT, since INT)"))
        conn.execute(sa.text("INSERT INTO tenants VALUES (:s, :i)"),
                     [{"s": s, "i": i} for i, s in enumerate(schemas)])
    engine.dispose()
    broken = pg_databases[7]
    engine = sa.create_engine(broken, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # made by hand: the first migration cannot create it
        conn.execute(sa.text("CREATE TABLE post (id INTEGER)"))
    engine.dispose()
    files = [f"sqlite:///files/tenant{i}.db" for i in range(30)]
    listed = ", ".join(json.dumps(u) for u in pg_databases + mariadb_databases)
    p = fleet_project(tmp_path / "proj", f"""
        [tool.gitmig.fleets.everyone]
        databases = [{listed}]
        databases_file = "files.txt"
        url = "{postgres_url}"
        query = "SELECT schema_name FROM tenants ORDER BY since"
        """)
    (p.root / "files").mkdir()
    p.write("files.txt", "\n".join(files) + "\n")
    total = 20 + 10 + 30 + 50

    first = gitmig(p.root, "migrate", "--fleet", "everyone", "--jobs", "4")
    assert first.exit_code == 1, first.output
    assert f"Fleet everyone: {total} targets" in first.stdout
    assert (f"{total - 1} migrated ({(total - 1) * 3} migrations applied), 0 up to date, "
            "1 failed.") in first.stdout
    shown = sa.engine.make_url(broken).render_as_string(hide_password=True)
    assert re.search(rf"FAILED .* {re.escape(shown)}: .*relation \"post\" already exists",
                     first.stdout), first.stdout
    assert "Traceback" not in first.output

    def every_target() -> Iterator[tuple[str, str | None]]:
        for url in pg_databases + mariadb_databases:
            yield url, None
        for f in files:
            yield f"sqlite:///{p.root / f[len('sqlite:///'):]}", None
        for s in schemas:
            yield postgres_url, s

    assert assert_consistent(broken, None, 3, complete=False) == 0  # the others: above

    engine = sa.create_engine(broken, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE post"))  # the fix
    engine.dispose()
    second = gitmig(p.root, "migrate", "--fleet", "everyone", "--jobs", "4")
    assert second.exit_code == 0, second.output
    assert (f"1 migrated (3 migrations applied), {total - 1} up to date, 0 failed."
            in second.stdout)
    assert_all_consistent(list(every_target()), 3)
    matrix = gitmig(p.root, "showmigrations", "--fleet", "everyone", "--json")
    data = json.loads(matrix.stdout)
    assert len(data["targets"]) == total
    assert {t["state"] for t in data["targets"]} == {"up to date"}
    assert {t["dialect"] for t in data["targets"]} == {"postgresql", "mysql", "sqlite"}
    sql = gitmig(p.root, "sqlmigrate", "blog", "0002", "--fleet", "everyone")
    assert sql.exit_code == 0, sql.output
    assert sql.stdout.count("ALTER TABLE post ADD COLUMN c2 INTEGER") == 3  # once a dialect


def tenants_fleet(tmp_path: Path, postgres_url: str, schemas: int, files: int,
                  migrations: int) -> tuple[Path, list[tuple[str, str | None]]]:
    names = [f"t{i}" for i in range(schemas)]
    p = fleet_project(tmp_path / "proj", f"""
        [tool.gitmig.fleets.f]
        url = "{postgres_url}"
        schemas = {json.dumps(names)}
        databases_file = "files.txt"
        """, migrations)
    p.write("files.txt", "".join(f"sqlite:///file{i}.db\n" for i in range(files)))
    targets = [(postgres_url, s) for s in names]
    targets += [(f"sqlite:///{p.root / f'file{i}.db'}", None) for i in range(files)]
    return p.root, targets


def test_a_run_killed_at_random_points_resumes_and_applies_each_migration_once(
        tmp_path, postgres_url):
    migrations = 8
    root, targets = tenants_fleet(tmp_path, postgres_url, 4, 4, migrations)
    began = time.monotonic()
    full = gitmig(root, "migrate", "--fleet", "f", "--jobs", "2")
    took = time.monotonic() - began
    assert full.exit_code == 0, full.output
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    kills = rounds = 0
    while kills < 10:
        rounds += 1
        assert rounds <= 30, f"seed {seed}: only {kills} runs were killed in {rounds} rounds"
        if all(assert_consistent(u, s, migrations, complete=False) == migrations
               for u, s in targets):
            back = gitmig(root, "migrate", "blog", "zero", "--fleet", "f", "--jobs", "2")
            assert back.exit_code == 0, back.output
        run = start(root, "migrate", "--fleet", "f", "--jobs", "2")
        try:
            run.wait(rng.uniform(0.1, took))
        except subprocess.TimeoutExpired:
            if kills % 2:  # only the parent: its workers must die with it
                os.kill(run.pid, signal.SIGKILL)
            else:  # the whole group, as an orchestrator kills a job
                os.killpg(run.pid, signal.SIGKILL)
            kills += 1
        run.communicate(timeout=60)  # EOF only once every worker holding the pipes is gone
        for url, schema in targets:  # what a killed run leaves is whole migrations only
            assert_consistent(url, schema, migrations, complete=False)
    last = gitmig(root, "migrate", "--fleet", "f", "--jobs", "2")
    assert last.exit_code == 0, f"seed {seed}: {last.output}"
    for url, schema in targets:
        assert_consistent(url, schema, migrations, complete=True)
    check = gitmig(root, "migrate", "--check", "--fleet", "f")
    assert check.exit_code == 0, check.output


def test_two_runs_at_once_and_overlapping_shards_apply_each_migration_once(
        tmp_path, postgres_url):
    migrations = 6
    root, targets = tenants_fleet(tmp_path, postgres_url, 6, 6, migrations)
    runs = [start(root, "migrate", "--fleet", "f", "--jobs", "2") for _ in range(2)]
    outs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outs
    assert sum(applied_count(out) for out, _ in outs) == len(targets) * migrations, outs
    for url, schema in targets:
        assert_consistent(url, schema, migrations, complete=True)

    back = gitmig(root, "migrate", "blog", "zero", "--fleet", "f", "--jobs", "2")
    assert back.exit_code == 0, back.output
    shards = ["1/2", "1/3", "2/3", "2/2"]  # 1/2 and 1/3 overlap, and so on
    runs = [start(root, "migrate", "--fleet", "f", "--shard", s) for s in shards]
    outs = [r.communicate(timeout=300) for r in runs]
    assert [r.returncode for r in runs] == [0] * len(shards), outs
    assert sum(applied_count(out) for out, _ in outs) == len(targets) * migrations, outs
    for url, schema in targets:
        assert_consistent(url, schema, migrations, complete=True)
