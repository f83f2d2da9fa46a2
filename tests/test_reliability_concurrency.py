"""Eight `gitmig migrate` processes at once on one database: SQLite file, PostgreSQL, MariaDB.

Every run must exit 0, every migration must be applied exactly once (one history row
each, one `Applying ... OK` line over all eight outputs), and the schema must equal
`create_all` of the models.

Two ways to start them: all at once, racing from the start; and all seven others started
while the first holds the lock inside its last migration, released only once every one
of them says it is waiting, so that all eight really contend for the same lock.
"""

from __future__ import annotations

import os
import re
import runpy
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import BASE, Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    reflected_schema,
    scratch_database,
)

pytestmark = pytest.mark.slow

RUNS = 8
SAFETY = 90.0  # seconds before a stuck child is a failure rather than a hang
WAITING = "Waiting for another `gitmig migrate` on this database to finish..."
APPLIED = re.compile(r"^Applying (\w+\.\w+)\.\.\. OK \(\d+ ms\)$")

STEPS = [
    """
class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id"))
""",
    """    slug: Mapped[str | None] = mapped_column(sa.String(50), index=True)
""",
    """

class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(40), unique=True)
""",
    """    views: Mapped[int] = mapped_column(default=0, server_default="0")
""",
]

HOLD = '''"""Holds the lock until the test has seen every other run waiting for it."""
import os
import time

from gitmig import ops


def hold(connection):
    folder = os.environ.get("GITMIG_TEST_SIGNALS")
    if not folder:
        return
    open(os.path.join(folder, "inside"), "w").close()
    deadline = time.monotonic() + 90
    while not os.path.exists(os.path.join(folder, "release")):
        if time.monotonic() > deadline:
            raise RuntimeError("never released")
        time.sleep(0.02)


parents = ["{parent}"]
operations = [ops.RunPython(hold, ops.RunPython.noop)]
'''


def build(project: Project) -> list[str]:
    """Four migrations made from the models as they change, then one that can hold."""
    source = BASE
    for i, step in enumerate(STEPS):
        if i == 3:  # views goes on post, above the Tag class
            source = source.replace("\n\nclass Tag", step + "\n\nclass Tag")
        else:
            source += step
        project.write("blog/models.py", source)
        result = project.gitmig("makemigrations", "--no-input")
        assert result.exit_code == 0, result.output
    names = [n[:-3] for n in project.migrations("blog")]
    assert len(names) == 4
    project.write("blog/migrations/0005_hold.py", HOLD.format(parent=names[-1]))
    return [f"blog.{n}" for n in [*names, "0005_hold"]]


def spawn(project: Project, url: str, signals: Path | None) -> subprocess.Popen[str]:
    env = {**os.environ, "GITMIG_DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("GITMIG_TEST_SIGNALS", None)
    if signals is not None:
        env["GITMIG_TEST_SIGNALS"] = str(signals)
    return subprocess.Popen(
        [sys.executable, "-m", "gitmig", "migrate", "--no-input"], cwd=project.root, env=env,
        text=True, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def history_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT app, name, COUNT(*) FROM gitmig_migrations GROUP BY app, name"))
            return {f"{r[0]}.{r[1]}": int(r[2]) for r in rows}
    finally:
        engine.dispose()


def wait_for(path: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + SAFETY
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.02)


def collect(procs: list[subprocess.Popen[str]]) -> list[tuple[int, str, str]]:
    out = []
    try:
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=SAFETY)
            out.append((proc.returncode, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return out


@pytest.mark.parametrize("contended", [False, True], ids=["racing", "all-waiting"])
def test_eight_runs_at_once_apply_every_migration_exactly_once(
    project: Project, database_url: str, tmp_path: Path, contended: bool
) -> None:
    labels = build(project)
    with scratch_database(database_url) as url, scratch_database(database_url) as scratch:
        if contended:
            signals = tmp_path / "signals"
            signals.mkdir()
            first = spawn(project, url, signals)
            wait_for(signals / "inside", first)
            others = [spawn(project, url, signals) for _ in range(RUNS - 1)]
            try:
                for proc in others:  # each says it waits, then blocks on the lock
                    assert proc.stderr is not None
                    assert proc.stderr.readline().rstrip("\n") == WAITING
            finally:
                (signals / "release").touch()
            procs = [first, *others]
        else:
            procs = [spawn(project, url, None) for _ in range(RUNS)]
        results = collect(procs)

        for code, _, stderr in results:
            assert code == 0, stderr
            assert "error" not in stderr.lower(), stderr
        applied = [m[1] for _, stdout, _ in results for line in stdout.splitlines()
                   if (m := APPLIED.match(line))]
        assert sorted(applied) == sorted(labels)  # each one applied by one run, once
        idle = [stdout for _, stdout, _ in results if not APPLIED.match(stdout.split("\n")[0])]
        assert idle == ["No migrations to apply.\n"] * (RUNS - 1)
        assert history_counts(url) == dict.fromkeys(labels, 1)

        metadata = runpy.run_path(str(project.root / "blog" / "models.py"))["Base"].metadata
        assert_same_schema(reflected_schema(url), create_all_schema(metadata, scratch))
