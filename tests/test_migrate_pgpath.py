"""`gitmig migrate` into an empty PostgreSQL database, replaying the SQL a full run recorded
(gitmig.actions.warmpg): the same schema, history table and rows, and output as the full
path, without SQLAlchemy or Alembic; the full path whenever the database is not empty, the
entry is unusable, a statement fails or another migrate holds the lock; and a kill leaves
a prefix of the plan, each migration whole or absent."""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gitmig import cache
from gitmig.db.catalog import read_catalog_url
from gitmig.db.history.pgreader import LOCK_KEY

from .catalog import dump_catalog
from .conftest import POSTGRES_URL, Project, blog_project
from .test_migrate import POST, make, models
from .test_migrate_sqlpath import POST_WITH_BODY, POST_WITH_SLUG, cli, no_ms

COMMENT = """
class Comment(Base):
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text, server_default="100%")
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cache folder of the test's own: its entries are the only ones there."""
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))


# The app folder (models and migrations) made for each list of bodies in this process:
# the migrations do not depend on which PostgreSQL database the project names, so a later
# test copies them instead of running makemigrations once per body again.
_MADE: dict[tuple[str, ...], Path] = {}


def project_on(tmp_path: Path, url: str, bodies: list[str]) -> Project:
    """A project against `url` with one migration per models body, in order."""
    project = blog_project(tmp_path / "proj", url)
    made = _MADE.get(tuple(bodies))
    if made is not None:
        shutil.copytree(made, project.root / "blog", dirs_exist_ok=True)
        return project
    for body in bodies:
        models(project, body)
        make(project)
    assert len(project.migrations("blog")) == len(bodies)
    keep = Path(tempfile.mkdtemp(prefix="gitmig-test-made-")) / "blog"
    shutil.copytree(project.root / "blog", keep)
    _MADE[tuple(bodies)] = keep
    return project


THREE = [POST, POST_WITH_SLUG, POST_WITH_BODY + COMMENT]


def admin(sql: str) -> None:
    assert POSTGRES_URL
    engine = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT",
                              poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def recreate(url: str) -> None:
    """The database at `url` dropped and made again, empty, under the same name."""
    name = sa.engine.make_url(url).database
    admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin(f"CREATE DATABASE {name}")


def execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


def history(url: str) -> list[tuple[Any, ...]]:
    """Every history row, applied_at as whether it is set (the instant differs)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("gitmig_migrations"):
                return []
            rows = conn.exec_driver_sql(
                "SELECT app, name, checksum, applied_at IS NOT NULL, git_commit, "
                "file_sha256, progress FROM gitmig_migrations ORDER BY applied_at").all()
    finally:
        engine.dispose()
    return [tuple(r) for r in rows]


def state(url: str) -> tuple[Any, ...]:
    """gitmig's catalog, the oracle's with the history table in it, the history rows."""
    return (read_catalog_url(url), dump_catalog(url, exclude=()), history(url))


def entries() -> list[Path]:
    return sorted(cache.cache_dir().glob("sqlpath-pgempty-*.pickle"))


def recorded(project: Project, url: str) -> str:
    """A full run from empty that records; the database empty again after it."""
    r, imported = cli(project, "migrate", "--database", url)
    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert len(entries()) == 1
    recreate(url)
    return r.stdout


def edit_entry(change: Any) -> None:
    """The entry rewritten as gitmig writes one, `change` applied to its value."""
    [path] = entries()
    data = pickle.loads(path.read_bytes())
    change(data["value"])
    path.write_bytes(pickle.dumps(data))


def test_warm_run_matches_the_full_run(tmp_path: Path, postgres_url: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE)
    recorded(project, postgres_url)
    cold_run, imported = cli(project, "migrate", "--database", postgres_url, env_cache=False)
    assert cold_run.returncode == 0 and "sqlalchemy" in imported
    cold = state(postgres_url)
    recreate(postgres_url)

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert r.returncode == 0, r.stderr
    assert not imported & {"sqlalchemy", "alembic", "psycopg", "blog"}, sorted(imported)
    assert no_ms(r.stdout) == no_ms(cold_run.stdout)
    assert r.stdout.count("Applying") == 3 and r.stderr == ""
    assert state(postgres_url) == cold
    again, _ = cli(project, "migrate", "--database", postgres_url)
    assert again.stdout == "No migrations to apply.\n"


@pytest.mark.parametrize("setup", [
    "CREATE TABLE unrelated (id int)",
    "CREATE TYPE mood AS ENUM ('ok')",
    "CREATE TABLE gitmig_migrations (app VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, "
    "checksum VARCHAR(64) NOT NULL, applied_at TIMESTAMP WITH TIME ZONE NOT NULL, "
    "git_commit VARCHAR(64), progress VARCHAR(32), file_sha256 VARCHAR(64), "
    "PRIMARY KEY (app, name))",
], ids=["user-table", "user-type", "empty-history-table"])
def test_a_database_not_empty_takes_the_full_path(tmp_path: Path, postgres_url: str,
                                                  setup: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE[:2])
    cold_out = recorded(project, postgres_url)
    execute(postgres_url, setup)

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)
    assert [row[1] for row in history(postgres_url)] == [
        m.removesuffix(".py") for m in project.migrations("blog")]


def test_a_corrupt_entry_is_ignored(tmp_path: Path, postgres_url: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE[:2])
    cold_out = recorded(project, postgres_url)
    [path] = entries()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)


def test_an_entry_of_the_wrong_shape_is_ignored(tmp_path: Path, postgres_url: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE[:2])
    cold_out = recorded(project, postgres_url)
    edit_entry(lambda v: v["steps"][0].__setitem__("statements", [b"DROP TABLE x"]))

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported
    assert no_ms(r.stdout) == no_ms(cold_out)


def test_a_failing_statement_hands_over(tmp_path: Path, postgres_url: str) -> None:
    """The second migration's replay fails: the first stays applied and is reported once;
    the full path applies the rest; the end is a cold run's."""
    project = project_on(tmp_path, postgres_url, THREE)
    recorded(project, postgres_url)
    cold_run, _ = cli(project, "migrate", "--database", postgres_url, env_cache=False)
    cold = state(postgres_url)
    recreate(postgres_url)

    def change(value: Any) -> None:
        value["steps"][0]["statements"].append("CREATE TABLE warm_trace (id int)")
        value["steps"][1]["statements"].insert(0, "CREATE TABLE post (x int)")  # exists

    edit_entry(change)

    r, imported = cli(project, "migrate", "--database", postgres_url)

    assert r.returncode == 0, r.stderr
    assert "sqlalchemy" in imported  # handed over
    assert no_ms(r.stdout) == no_ms(cold_run.stdout)  # each line once
    execute(postgres_url, "DROP TABLE warm_trace")  # the first ran warm, and stayed
    assert state(postgres_url) == cold


def test_another_migrate_holding_the_lock_is_waited_for(tmp_path: Path,
                                                        postgres_url: str) -> None:
    project = project_on(tmp_path, postgres_url, THREE[:2])
    cold_out = recorded(project, postgres_url)
    engine = sa.create_engine(postgres_url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as holder:
            holder.exec_driver_sql(f"SELECT pg_advisory_lock({LOCK_KEY})")
            proc = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                                     postgres_url], cwd=project.root, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            waited_for(postgres_url)
            assert proc.poll() is None and history(postgres_url) == []
            holder.exec_driver_sql(f"SELECT pg_advisory_unlock({LOCK_KEY})")
            out, err = proc.communicate(timeout=60)
    finally:
        engine.dispose()
    assert proc.returncode == 0, err
    assert "Waiting for another `gitmig migrate` on this database to finish..." in err
    assert no_ms(out) == no_ms(cold_out)
    assert len(history(postgres_url)) == 2


def slowed(tmp_path: Path, url: str) -> tuple[Project, list[str], Path, bytes]:
    """Eight migrations recorded, each with a sleep added to its entry (~1.5 s in all, a
    batch commit every half second), shown to replay; (the project, the migrations' names,
    the entry, its bytes to put back after a full run recorded again)."""
    bodies = [POST, POST_WITH_SLUG, POST_WITH_BODY, POST_WITH_BODY + COMMENT]
    for i in range(1, 5):  # four more columns, one migration each
        extras = "".join(f"    extra{j}: Mapped[int | None]\n" for j in range(i))
        bodies.append(POST_WITH_BODY + extras + COMMENT)
    project = project_on(tmp_path, url, bodies)
    names = [m.removesuffix(".py") for m in project.migrations("blog")]
    recorded(project, url)
    edit_entry(lambda v: [s["statements"].append("SELECT pg_sleep(0.15)") for s in v["steps"]])
    [entry] = entries()
    slow = entry.read_bytes()
    whole, imported = cli(project, "migrate", "--database", url)
    assert whole.returncode == 0 and "sqlalchemy" not in imported  # the entry replays
    return project, names, entry, slow


def until(project: Project, url: str, lines: int) -> tuple[subprocess.Popen[str], str]:
    """migrate in a child, once it printed `lines` lines (or ended); with those lines."""
    proc = subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                            cwd=project.root, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.stdout is not None
    out = ""
    while out.count("\n") < lines:
        line = proc.stdout.readline()
        if not line:
            break
        out += line
    return proc, out


def reported(out: str) -> list[str]:
    return [line.split()[1].split(".", 1)[1].removesuffix("...")
            for line in out.splitlines() if line.endswith("ms)")]


def test_ctrl_c_keeps_what_was_reported(tmp_path: Path, postgres_url: str) -> None:
    """A first Ctrl-C with migrations reported and not committed: the one under way
    finishes and is reported, the batch commits, the run stops (gitmig.db.batch's rule)."""
    project, names, entry, slow = slowed(tmp_path, postgres_url)
    recreate(postgres_url)
    entry.write_bytes(slow)
    proc, first = until(project, postgres_url, 2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    out = first + out

    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == "gitmig: aborted"
    done = reported(out)
    assert 2 <= len(done) < len(names)
    assert [r[1] for r in history(postgres_url)] == done  # each reported one, committed
    assert dump_catalog(postgres_url) == expected_catalog(project, done)


def test_sigkill_leaves_a_prefix(tmp_path: Path, postgres_url: str) -> None:
    """Killed after 1, 3, 5 and 7 lines of a replay whose migrations take a while (a
    sleep added to each migration's entry; batches commit every half second): the history
    is a prefix of the plan, each migration whole or absent (the schema is a cold run's
    to the last one applied), the lines reported are a prefix too, and the next run
    applies the rest."""
    project, names, entry, slow = slowed(tmp_path, postgres_url)
    seen: set[int] = set()
    for lines in (1, 3, 5, 7):  # killed once that many lines are out
        recreate(postgres_url)
        entry.write_bytes(slow)
        proc, out = until(project, postgres_url, lines)
        proc.send_signal(signal.SIGKILL)
        out += proc.communicate()[0]
        rows = history(postgres_url)
        applied = [r[1] for r in rows]
        assert applied == names[: len(applied)], applied
        shown = reported(out)
        assert shown == names[: len(shown)]
        seen.add(len(applied))
        catalog = dump_catalog(postgres_url)
        with_cold = expected_catalog(project, names[: len(applied)])
        assert catalog == with_cold, applied
        r, _ = cli(project, "migrate", "--database", postgres_url)
        assert r.returncode == 0, r.stderr
        assert [row[1] for row in history(postgres_url)] == names
    assert len(seen) > 1, seen  # some kill landed between two batches


def waited_for(url: str) -> None:
    """Once a session waits for the migration lock (pg_locks says so)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        for _ in range(600):
            with engine.connect() as conn:
                if conn.exec_driver_sql(
                        "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                        f"AND objid = {LOCK_KEY & 0xFFFFFFFF}").first():
                    return
            time.sleep(0.1)
    finally:
        engine.dispose()
    raise AssertionError("no session waited for the migration lock")


_EXPECTED: dict[tuple[str, ...], Any] = {}


def expected_catalog(project: Project, names: list[str]) -> Any:
    """The catalog a cold run to the last of `names` makes, on a database of its own."""
    from .catalog import fresh_database

    key = tuple(names)
    if key not in _EXPECTED:
        assert POSTGRES_URL
        with fresh_database(POSTGRES_URL) as url:
            if names:
                r, _ = cli(project, "migrate", "blog", names[-1], "--database", url,
                           env_cache=False)
                assert r.returncode == 0, r.stderr
            _EXPECTED[key] = dump_catalog(url)
    return _EXPECTED[key]
