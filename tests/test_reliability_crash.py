"""`gitmig migrate` killed with SIGKILL at many points, on SQLite, PostgreSQL and MariaDB.

A project of ten migrations (tables, columns, renames, type changes, constraints, indexes,
an enum, a table comment, data written by RunPython and RunSQL) is migrated by a real
`python -m gitmig migrate` child process, which the test kills:

- at a fixed point inside every migration: each has an `ops.RunPython(pause, pause)`
  between two of its operations; when told to (GITMIG_CRASH_STOP, read by the migration
  file, not by gitmig) it touches a file and waits, and the test kills it there;
- after delays spread evenly over the measured length of an uninterrupted run, counted
  from the moment it prints its first `Applying ...`.

After every kill, the history must name exactly a prefix of the migrations, and the
database must hold exactly that prefix's schema (the schema `create_all` makes of the
state replayed from those migrations) and its data; the next `migrate` must then finish
with what an uninterrupted run gives. MariaDB cannot roll back DDL: there a kill inside a
migration must be reported by the next run, naming the migration and the operation,
which changes nothing until the user settles it the documented way (README,
"Reliability"): finish by hand with the SQL `gitmig sqlmigrate` prints, then `--fake`.

Nothing here asserts how long anything takes.
"""

from __future__ import annotations

import hashlib
import os
import re
import select
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gitmig.config import load_config
from gitmig.db.executor import Executor
from gitmig.migrations.loader import load_graph
from gitmig.migrations.plan import Step
from gitmig.migrations.replay import Replayer
from gitmig.schema import materialize
from gitmig.schema.state import SchemaState

from .conftest import Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    schema_diff,
    scratch_database,
)

pytestmark = pytest.mark.slow

SAFETY = 60.0  # seconds before a stuck child counts as a failure rather than a hang
TIMED_POINTS = 22  # kills after a delay; plus one at the pause of each of the 10 migrations

HEADER = '''"""{doc}"""
import os
import time

import sqlalchemy as sa

from gitmig import ops


def pause(connection):
    """Where the crash test may stop this migration (GITMIG_CRASH_STOP=NNNN)."""
    stop = os.environ.get("GITMIG_CRASH_STOP")
    if stop and os.path.basename(__file__).startswith(stop):
        open(os.environ["GITMIG_CRASH_SIGNAL"], "w").close()
        time.sleep(120)

'''

BODIES = {
    "0001_initial": '''
parents = []
operations = [
    ops.CreateTable(
        "author",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=True),
    ),
    ops.RunPython(pause, pause),
    ops.CreateTable(
        "post",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.Index("ix_post_title", "title"),
    ),
]
''',
    "0002_seed": '''
def seed(connection):
    connection.execute(
        sa.text("INSERT INTO author (id, name) VALUES (:id, :name)"),
        [{"id": i, "name": f"author {i}"} for i in range(1, 51)],
    )
    connection.execute(
        sa.text("INSERT INTO post (id, title, author_id) VALUES (:id, :title, :author)"),
        [{"id": i, "title": f"post {i}", "author": i % 50 + 1} for i in range(1, 501)],
    )


def unseed(connection):
    connection.execute(sa.text("DELETE FROM post"))
    connection.execute(sa.text("DELETE FROM author"))


parents = ["0001_initial"]
operations = [
    ops.RunPython(seed, unseed),
    ops.RunPython(pause, pause),
    ops.RunSQL("UPDATE post SET body = title", reverse_sql="UPDATE post SET body = NULL"),
]
''',
    "0003_post_add_slug": '''
parents = ["0002_seed"]
operations = [
    ops.AddColumn("post", sa.Column("slug", sa.String(length=50), nullable=True)),
    ops.RunPython(pause, pause),
    ops.AddConstraint("post", sa.UniqueConstraint("slug", name="uq_post_slug")),
]
''',
    "0004_tags": '''
parents = ["0003_post_add_slug"]
operations = [
    ops.CreateTable(
        "tag",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.UniqueConstraint("label"),
    ),
    ops.CreateTable(
        "post_tag",
        sa.Column("post_id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("tag_id", sa.Integer(), primary_key=True, nullable=False),
        sa.ForeignKeyConstraint(["post_id"], ["post.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["tag_id"], ["tag.id"]),
    ),
    ops.RunPython(pause, pause),
    ops.CreateIndex("ix_post_tag_tag_id", "post_tag", ["tag_id"]),
]
''',
    "0005_post_add_status": '''
parents = ["0004_tags"]
operations = [
    ops.AddColumn(
        "post",
        sa.Column("status", sa.Enum("draft", "published", name="post_status"), nullable=True),
    ),
    ops.RunPython(pause, pause),
    ops.AlterTableComment("post", "Blog posts"),
]
''',
    "0006_post_alter_title": '''
parents = ["0005_post_add_status"]
operations = [
    ops.AlterColumn("post", "title", type_=sa.String(length=300)),
    ops.RunPython(pause, pause),
    ops.RenameColumn("post", "body", "content"),
]
''',
    "0007_post_add_views": '''
parents = ["0006_post_alter_title"]
operations = [
    ops.AddColumn("post", sa.Column("views", sa.Integer(), nullable=False, server_default="0")),
    ops.RunPython(pause, pause),
    ops.RunSQL("UPDATE post SET views = 1 WHERE id > 250", reverse_sql="UPDATE post SET views = 0"),
]
''',
    "0008_post_checks": '''
parents = ["0007_post_add_views"]
operations = [
    ops.AddConstraint("post", sa.CheckConstraint("views >= 0", name="ck_post_views")),
    ops.RunPython(pause, pause),
    ops.CreateIndex("ix_post_views", "post", ["views"]),
]
''',
    "0009_rename_tag": '''
parents = ["0008_post_checks"]
operations = [
    ops.RenameTable("tag", "label"),
    ops.RunPython(pause, pause),
    ops.DropIndex("ix_post_title", "post"),
]
''',
    "0010_cleanup": '''
parents = ["0009_rename_tag"]
operations = [
    ops.DropColumn("author", "name"),
    ops.RunPython(pause, pause),
    ops.DropTable("post_tag"),
]
''',
}
ORDER = [("blog", name) for name in BODIES]
NAMES = list(BODIES)
OPERATIONS = {name: body.split("operations = [", 1)[1].split("\n    ops.")[1:]
              for name, body in BODIES.items()}
COUNT = {name: len(found) for name, found in OPERATIONS.items()}
PAUSE_AT = {name: found.index("RunPython(pause, pause),") + 1  # 1-based, between two others
            for name, found in OPERATIONS.items()}


def write_project(root: Path) -> Project:
    project = Project(root)
    project.write("pyproject.toml", """
        [tool.gitmig]
        database = "sqlite:///unused.sqlite3"

        [tool.gitmig.apps]
        blog = "blog.models"
        """)
    project.write("blog/__init__.py", "")
    project.write("blog/models.py", "")  # migrate never imports the models
    for name, body in BODIES.items():
        doc = f"Crash-test migration {name}."
        project.write(f"blog/migrations/{name}.py", HEADER.format(doc=doc) + body.lstrip("\n"))
    return project


# -- databases ---------------------------------------------------------------------------


def engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, poolclass=sa.pool.NullPool)


def history(url: str) -> list[tuple[str, str, str | None]]:
    """Every row of gitmig_migrations: (app, name, progress), in name order."""
    e = engine(url)
    try:
        with e.connect() as conn:
            if not sa.inspect(conn).has_table("gitmig_migrations"):
                return []
            rows = conn.execute(sa.text(
                "SELECT app, name, progress FROM gitmig_migrations ORDER BY app, name"))
            return [(r[0], r[1], r[2]) for r in rows]
    finally:
        e.dispose()


def data(url: str) -> dict[str, str]:
    """A fingerprint of every table's rows (columns by name, rows sorted)."""
    e = engine(url)
    out = {}
    try:
        with e.connect() as conn:
            inspector = sa.inspect(conn)
            for table in sorted(inspector.get_table_names()):
                if table == "gitmig_migrations":
                    continue
                columns = sorted(c["name"] for c in inspector.get_columns(table))
                query: Any = sa.select(*[sa.column(c) for c in columns])
                query = query.select_from(sa.table(table))
                rows = sorted(repr(tuple(r)) for r in conn.execute(query))
                out[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]
    finally:
        e.dispose()
    return out


def reset(url: str) -> None:
    """Empty a database the test made (scratch_database) for the next kill point."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{parsed.database}{suffix}").unlink(missing_ok=True)
        return
    e = sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with e.connect() as conn:
            if backend == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                conn.execute(sa.text(f"DROP DATABASE {parsed.database}"))
                conn.execute(sa.text(f"CREATE DATABASE {parsed.database}"))
    finally:
        e.dispose()


# -- what each prefix of the history must look like ----------------------------------------


@dataclass
class Expected:
    schemas: list[dict[str, Any]] = field(default_factory=list)  # after ORDER[:k]
    data: list[dict[str, str]] = field(default_factory=list)
    states: list[SchemaState] = field(default_factory=list)


def replayed_states(project: Project) -> tuple[Replayer, list[SchemaState]]:
    replayer = Replayer(load_graph(load_config(project.root / "pyproject.toml")))
    states = [SchemaState()]
    for key in ORDER:
        states.append(replayer.apply(states[-1], key))
    return replayer, states


def created(state: SchemaState, scratch: str) -> dict[str, Any]:
    """The schema `create_all` gives for a replayed state."""
    return create_all_schema(materialize.metadata(state), scratch)


def expected_prefixes(project: Project, url: str) -> Expected:
    """Migrate a database one migration at a time; each prefix's schema and data, checked
    against `create_all` of the state replayed from exactly that prefix."""
    _, states = replayed_states(project)
    out = Expected(states=states)
    with scratch_database(url) as ref, scratch_database(url) as scratch:
        out.schemas.append(reflected_schema(ref))
        out.data.append(data(ref))
        for k, (app, name) in enumerate(ORDER, start=1):
            run = project.gitmig("migrate", app, name, "--database", ref, "--no-input")
            assert run.exit_code == 0, run.output
            out.schemas.append(reflected_schema(ref))
            out.data.append(data(ref))
            assert_same_schema(out.schemas[k], created(states[k], scratch))
    assert out.schemas[0]["tables"] == {}
    # Every migration changes the schema or the data, so every prefix can be told apart.
    assert len({repr(pair) for pair in zip(out.schemas, out.data, strict=True)}) == len(ORDER) + 1
    return out


# -- the child process and how it is killed ----------------------------------------------


@dataclass
class Killed:
    stdout: str
    returncode: int

    def last_migration(self) -> str:
        """Where the output stopped: `Applying blog.X...` with or without its OK."""
        lines = self.stdout.splitlines()
        return lines[-1] if lines else "(nothing printed)"


def spawn(project: Project, url: str, *args: str, env: dict[str, str] | None = None,
          stderr: Path | None = None) -> subprocess.Popen[bytes]:
    full_env = {**os.environ, "GITMIG_DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
                "PYTHONDONTWRITEBYTECODE": "1"}
    full_env.pop("GITMIG_CRASH_STOP", None)
    full_env.update(env or {})
    return subprocess.Popen(
        [sys.executable, "-m", "gitmig", "migrate", "--no-input", *args],
        cwd=project.root, env=full_env, bufsize=0, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr.open("wb") if stderr else subprocess.DEVNULL,
    )


def read_until(proc: subprocess.Popen[bytes], needle: bytes, buffer: bytearray) -> bool:
    """Read the child's output until `needle` appears (True) or it ends (False)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + SAFETY
    while needle not in buffer:
        assert time.monotonic() < deadline, f"no {needle!r} in {bytes(buffer)!r}"
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                return False
            buffer += chunk
    return True


def finish(proc: subprocess.Popen[bytes], buffer: bytearray, kill: bool, url: str) -> Killed:
    if kill and proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    assert proc.stdout is not None
    buffer += proc.stdout.read()
    proc.stdout.close()
    killed = Killed(buffer.decode(), proc.wait(timeout=SAFETY))
    wait_for_the_server(url)
    return killed


def wait_for_the_server(url: str) -> None:
    """Until the killed run's session is gone: a server finishes the statement a dead
    client was running (and only then rolls back or lets go of its locks)."""
    parsed = sa.engine.make_url(url)
    query = {
        "postgresql": "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                      "current_database() AND pid <> pg_backend_pid()",
        "mysql": "SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = DATABASE() "
                 "AND ID <> CONNECTION_ID()",
    }.get(parsed.get_backend_name())
    if query is None:
        return
    e = engine(url)
    try:
        with e.connect() as conn:
            deadline = time.monotonic() + SAFETY
            while conn.execute(sa.text(query)).scalar():
                assert time.monotonic() < deadline, "the killed run's session never ended"
                conn.rollback()
                time.sleep(0.02)
    finally:
        e.dispose()


def kill_after(project: Project, url: str, delay: float, *args: str) -> Killed:
    """Kill the run `delay` seconds after it starts its first migration."""
    proc = spawn(project, url, *args)
    buffer = bytearray()
    try:
        if read_until(proc, b"ing blog.", buffer):
            time.sleep(delay)
        return finish(proc, buffer, kill=True, url=url)
    finally:
        if proc.poll() is None:
            proc.kill()


def kill_at_pause(project: Project, url: str, name: str, tmp: Path, *args: str) -> Killed:
    """Kill the run while migration `name` waits at its pause, between two operations."""
    signal_file = tmp / f"reached-{name}"
    signal_file.unlink(missing_ok=True)
    proc = spawn(project, url, *args, env={"GITMIG_CRASH_STOP": name[:4],
                                          "GITMIG_CRASH_SIGNAL": str(signal_file)},
                 stderr=tmp / "stderr")
    buffer = bytearray()
    try:
        deadline = time.monotonic() + SAFETY
        while not signal_file.exists():
            assert proc.poll() is None, (tmp / "stderr").read_text()
            assert time.monotonic() < deadline, "the run never reached the pause"
            time.sleep(0.01)
        return finish(proc, buffer, kill=True, url=url)
    finally:
        if proc.poll() is None:
            proc.kill()


def uninterrupted_seconds(project: Project, url: str) -> float:
    """How long an uninterrupted run takes from its first `Applying` to its last `OK`."""
    proc = spawn(project, url)
    buffer = bytearray()
    assert read_until(proc, b"Applying blog.", buffer)
    started = time.monotonic()
    assert read_until(proc, f"{NAMES[-1]}... OK".encode(), buffer)
    took = time.monotonic() - started
    result = finish(proc, buffer, kill=False, url=url)
    assert result.returncode == 0, result.stdout
    assert result.stdout.count(" OK (") == len(ORDER), result.stdout
    return took


PROGRESS = re.compile(r"^Applying (blog\.\w+)\.\.\. OK \(\d+ ms\)$")


# -- SQLite and PostgreSQL: a kill never leaves half a migration ---------------------------


def check_after_kill(project: Project, url: str, expected: Expected, killed: Killed,
                     where: str) -> int:
    """The history is a prefix, the schema and data are exactly that prefix's; the next
    run completes to the uninterrupted result. Returns the prefix's length."""
    assert killed.returncode in (0, -signal.SIGKILL), (where, killed)
    rows = history(url)
    assert all(progress is None for _, _, progress in rows), (where, rows)
    recorded = [(app, name) for app, name, _ in rows]
    k = len(recorded)
    assert recorded == ORDER[:k], (where, recorded)
    assert_same_schema(reflected_schema(url), expected.schemas[k])
    assert data(url) == expected.data[k], where

    again = project.gitmig("migrate", "--database", url, "--no-input")
    assert again.exit_code == 0, (where, again.output)
    if k < len(ORDER):
        done = [PROGRESS.match(line) for line in again.stdout.splitlines()]
        assert [m[1] if m else None for m in done] == [f"{a}.{n}" for a, n in ORDER[k:]], (
            where, again.stdout)
    else:
        assert again.stdout == "No migrations to apply.\n"
    assert [(a, n) for a, n, _ in history(url)] == ORDER
    assert_same_schema(reflected_schema(url), expected.schemas[-1])
    assert data(url) == expected.data[-1], where
    return k


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_run_killed_anywhere_leaves_a_consistent_database_that_the_next_run_completes(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url_fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url"}[kind]
    base_url = str(request.getfixturevalue(url_fixture))
    project = write_project(tmp_path / "proj")
    expected = expected_prefixes(project, base_url)
    landed: list[str] = []
    with scratch_database(base_url) as url:
        seconds = uninterrupted_seconds(project, url)
        assert_same_schema(reflected_schema(url), expected.schemas[-1])

        # At the pause of every migration: between two of its operations, mid-transaction.
        for k, (_, name) in enumerate(ORDER):
            reset(url)
            killed = kill_at_pause(project, url, name, tmp_path)
            assert killed.returncode == -signal.SIGKILL
            assert killed.last_migration() == f"Applying blog.{name}..."
            where = f"killed at the pause of {name}"
            assert check_after_kill(project, url, expected, killed, where) == k, where

        # After delays spread over the run.
        for i in range(TIMED_POINTS):
            reset(url)
            delay = seconds * (i + 0.5) / TIMED_POINTS
            killed = kill_after(project, url, delay)
            where = f"killed {delay * 1000:.1f} ms in, after {killed.last_migration()!r}"
            check_after_kill(project, url, expected, killed, where)
            landed.append(killed.last_migration())
    print(f"{kind}: uninterrupted run {seconds * 1000:.0f} ms; timed kills landed at",
          landed)


def test_a_run_killed_while_unapplying_leaves_a_consistent_database(
    database_url: str, tmp_path: Path
) -> None:
    """Going back to zero, killed at the pause of every other migration (the pauses run
    on the way back too): the history is still a prefix with exactly its schema."""
    project = write_project(tmp_path / "proj")
    _, states = replayed_states(project)
    mysql = database_url.startswith("mysql")
    with scratch_database(database_url) as url, scratch_database(database_url) as scratch:
        for name in [n for _, n in ORDER][1::2]:
            reset(url)
            assert project.gitmig("migrate", "--database", url).exit_code == 0
            killed = kill_at_pause(project, url, name, tmp_path, "blog", "zero")
            assert killed.returncode == -signal.SIGKILL
            assert killed.last_migration() == f"Unapplying blog.{name}..."
            k = [n for _, n in ORDER].index(name)
            rows = history(url)
            if mysql:
                # Recorded as interrupted on its way back: undoing runs the operations in
                # reverse, so those after the pause are undone and those before it are not.
                pause, total = PAUSE_AT[name], COUNT[name]
                assert rows[-1] == ("blog", name, f"unapply {total - pause}/{total}")
                report = project.gitmig("migrate", "blog", "zero", "--database", url)
                assert report.exit_code == 2
                assert report.stderr.startswith(
                    f"gitmig: error: blog.{name} was interrupted while being unapplied")
                assert f"`gitmig migrate blog {name} --fake`" in report.stderr
                # The way back out: redo by hand what was undone, keep it applied.
                redo_by_hand(project, url, name, after=pause)
                settle = project.gitmig("migrate", "blog", name, "--fake", "--database", url)
                assert settle.exit_code == 0, settle.output
                assert f"the interrupted run of blog.{name} is forgotten" in settle.stderr
                rows = history(url)
            assert all(p is None for _, _, p in rows), rows
            assert [(a, n) for a, n, _ in rows] == ORDER[:k + 1]
            assert_same_schema(reflected_schema(url), created(states[k + 1], scratch))
            back = project.gitmig("migrate", "blog", "zero", "--database", url, "--no-input")
            assert back.exit_code == 0, back.output
            assert history(url) == []
            assert reflected_schema(url)["tables"] == {}


# -- MariaDB: a kill between operations is reported, and settled by hand ------------------


def sql_blocks(project: Project, url: str, name: str) -> list[str]:
    """`gitmig sqlmigrate blog NAME`, cut into one block per operation (each starts with
    a `-- Operation` line, after a blank one)."""
    result = project.gitmig("sqlmigrate", "blog", name, "--database", url)
    assert result.exit_code == 0, result.output
    blocks = re.split(r"\n\n(?=-- )", result.stdout)[1:]
    assert len(blocks) == COUNT[name], result.stdout
    return blocks


def sql_statements(block: str) -> list[str]:
    code = "\n".join(line for line in block.splitlines() if not line.startswith("--"))
    return [s.strip() for s in code.split(";") if s.strip()]


# MariaDB's "it is already there": table, column or key name exists; key already dropped.
ALREADY_DONE = {1050, 1060, 1061, 1091}


def run_sql(url: str, block: str, tolerate_done: bool = False) -> None:
    """Run statements as a user would paste them; with `tolerate_done`, skip those whose
    work the interrupted run already did, as a user checking the database would."""
    e = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with e.connect() as conn:
            for statement in sql_statements(block):
                try:
                    conn.exec_driver_sql(statement)
                except sa.exc.OperationalError as exc:
                    if not (tolerate_done and exc.orig.args[0] in ALREADY_DONE):
                        raise
    finally:
        e.dispose()


def redo_by_hand(project: Project, url: str, name: str, after: int) -> None:
    """Run the SQL of the migration's operations after the first `after` by hand."""
    for block in sql_blocks(project, url, name)[after:]:
        run_sql(url, block)


def expected_report(executor: Executor, k: int, done: int) -> str:
    """The one line the next run prints about ORDER[k], stopped after `done` operations."""
    name, total = NAMES[k], COUNT[NAMES[k]]
    actions = executor.prepare([Step(ORDER[k])], set(ORDER[:k]))[0].actions
    assert len(actions) == total
    ran = "; ".join(f"{i}. {a.describe()}" for i, a in enumerate(actions[:done], 1))
    if done == total:
        what = f"all {total} of its operations had finished ({ran}), but not applied"
    else:
        what = (f"{done} of its {total} operations had finished ({ran})" if done
                else f"none of its {total} operations had finished")
        what += (f", and operation {done + 1} ({actions[done].describe()}) may have run "
                 "too, in whole or in part")
    return (
        f"gitmig: error: blog.{name} was interrupted while being applied (the run was "
        f"killed or lost its connection): {what}. MariaDB/MySQL cannot roll back DDL, so "
        "gitmig_migrations records it as interrupted and migrate changes nothing until that "
        f"is settled. Check the database, then finish it by hand (`gitmig sqlmigrate blog "
        f"{name}` prints its SQL) and record it as applied with `gitmig migrate blog {name} "
        "--fake`, or undo what ran by hand and forget it with `gitmig migrate blog "
        f"{NAMES[k - 1] if k else 'zero'} --fake`"
    )


def test_on_mariadb_a_kill_inside_a_migration_is_reported_and_settled_by_hand(
    mysql_url: str, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "proj")
    expected = expected_prefixes(project, mysql_url)
    replayer, _ = replayed_states(project)
    graph_executor = Executor(replayer.graph, replayer)
    names = NAMES
    with scratch_database(mysql_url) as url, scratch_database(mysql_url) as scratch:
        seconds = uninterrupted_seconds(project, url)

        # Names the migrations give, so that an index over a foreign key's columns (which
        # MariaDB would otherwise make by itself) tells whether its operation ran.
        named = set().union(*(explicit_names(materialize.metadata(s)) for s in expected.states))

        def partial(k: int, done: int) -> dict[str, Any]:
            """The schema after ORDER[:k] and the first `done` operations of ORDER[k]."""
            state = expected.states[k]
            for op in replayer.operations(ORDER[k])[:done]:
                state = op.state_forwards(state, "blog")
            return create_all_schema(materialize.metadata(state), scratch, named=named)

        points: list[tuple[str, float | str]] = [("pause", n) for n in names]
        points += [("timed", seconds * (i + 0.5) / 10) for i in range(10)]
        reported = partly = 0
        for how, at in points:
            reset(url)
            if how == "pause":
                killed = kill_at_pause(project, url, str(at), tmp_path)
            else:
                killed = kill_after(project, url, float(at))
            where = f"{how} {at}: {killed.last_migration()!r}"
            rows = history(url)
            unfinished = [r for r in rows if r[2] is not None]
            if not unfinished:
                check_after_kill(project, url, expected, killed, where)
                continue
            reported += 1
            assert len(unfinished) == 1 and rows[-1] == unfinished[0], (where, rows)
            _, name, progress = unfinished[0]
            k = names.index(name)
            assert [(a, n) for a, n, _ in rows[:-1]] == ORDER[:k], (where, rows)
            match = re.fullmatch(rf"apply (\d)/{COUNT[name]}", progress or "")
            assert match, (where, progress)
            done = int(match[1])
            if how == "pause":
                assert (name, done) == (at, PAUSE_AT[name] - 1), where

            # The next run says which migration and which operation, and changes nothing.
            schema = reflected_schema(url)
            report = project.gitmig("migrate", "--database", url, "--no-input")
            assert report.exit_code == 2, (where, report.output)
            assert report.stdout == ""
            assert report.stderr == expected_report(graph_executor, k, done) + "\n", where
            assert reflected_schema(url) == schema
            assert history(url) == rows

            # The operations recorded as done have run, and no later one but the next; that
            # one may be several statements (a table, then its indexes), any of which ran.
            schema = reflected_schema(url, named=named)
            blocks = sql_blocks(project, url, name)
            if done < COUNT[name] and schema != partial(k, done):
                one_more = partial(k, done + 1)
                if schema != one_more:
                    partly += 1
                    statements = sql_statements(blocks[done])
                    assert len(statements) > 1, (where, schema_diff(schema, one_more))
                    run_sql(url, blocks[done], tolerate_done=True)
                    assert_same_schema(reflected_schema(url, named=named), one_more)
                done += 1

            # The way out the error gives: finish by hand, record with --fake, go on.
            for block in blocks[done:]:
                try:
                    run_sql(url, block)
                except sa.exc.DBAPIError as exc:
                    raise AssertionError(f"{where}: finishing by hand: {exc}") from exc
            settle = project.gitmig("migrate", "blog", name, "--fake", "--database", url)
            assert settle.exit_code == 0, settle.output
            assert settle.stdout.splitlines()[-1] == f"Applying blog.{name}... FAKED"
            assert_same_schema(reflected_schema(url), expected.schemas[k + 1])
            rest = project.gitmig("migrate", "--database", url, "--no-input")
            assert rest.exit_code == 0, (where, rest.output)
            assert [(a, n) for a, n, p in history(url) if p is None] == ORDER
            assert_same_schema(reflected_schema(url), expected.schemas[-1])
        assert reported >= len(names)  # every pause is inside a migration, so reported
    print(f"MariaDB: {reported} of {len(points)} kills reported, {partly} inside a statement list")


def test_every_pause_sits_between_two_real_operations() -> None:
    assert len(ORDER) == 10
    for name, position in PAUSE_AT.items():
        assert 1 < position < COUNT[name], name
        assert sum("pause" in op for op in OPERATIONS[name]) == 1, name
