"""`gitmig adopt`: real Alembic projects (alembic's own `init`, `revision
--autogenerate`, `upgrade`) and projects with no migration tool, taken over on SQLite,
PostgreSQL and MariaDB only when the live schema is proven equal to the migrations'."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project, assert_refused
from .drifting import MODELS, execute, make_project

ENV_PY_MODELS = '''import sys
sys.path.insert(0, ".")
from blog.models import Base
target_metadata = Base.metadata
'''
VIEWS = "    views: Mapped[int | None]\n"


def alembic(p: Project, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "alembic", *args], cwd=p.root,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def alembic_project(root: Path, url: str, template: str = "generic") -> Project:
    """A project whose database Alembic made: init, autogenerate, upgrade head."""
    p = make_project(root, url)
    alembic(p, "init", "--template", template, "alembic")
    ini = p.read("alembic.ini")
    ini = "\n".join(f"sqlalchemy.url = {url}" if line.startswith("sqlalchemy.url") else line
                    for line in ini.splitlines())
    p.write("alembic.ini", ini + "\n")
    env = p.read("alembic/env.py").replace("target_metadata = None\n", ENV_PY_MODELS)
    p.write("alembic/env.py", env)
    alembic(p, "revision", "--autogenerate", "-m", "initial")
    alembic(p, "upgrade", "head")
    return p


def table_names(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def history(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [f"{a}.{n}" for a, n in conn.execute(sa.text(
                "SELECT app, name FROM gitmig_migrations ORDER BY app, name"))]
    finally:
        engine.dispose()


def check_adopt_at_head(tmp_path: Path, url: str) -> None:
    p = alembic_project(tmp_path / "proj", url)
    result = p.gitmig("adopt")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Alembic project: alembic.ini (revisions in alembic/versions), "
                               "head ")
    assert lines[1] == "Wrote blog/migrations/0001_initial.py"
    assert lines[2].endswith(": its schema is what the migrations make; recorded as "
                             "applied: blog.0001_initial")
    assert "Alembic's files (alembic/versions) and alembic_version are left as they are" \
        in result.stdout
    assert history(url) == ["blog.0001_initial"]
    assert "alembic_version" in table_names(url)  # left alone
    assert p.gitmig("drift").exit_code == 0
    # From now on gitmig runs the project.
    p.write("blog/models.py", p.read("blog/models.py") + VIEWS)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    assert p.gitmig("drift").exit_code == 0


@pytest.mark.slow
def test_adopt_an_alembic_project_at_head(tmp_path: Path, database_url: str) -> None:
    check_adopt_at_head(tmp_path, database_url)


@pytest.mark.slow
def test_adopt_an_alembic_project_configured_in_pyproject(tmp_path: Path,
                                                          sqlite_url: str) -> None:
    p = alembic_project(tmp_path / "proj", sqlite_url, template="pyproject")
    assert "[tool.alembic]" in p.read("pyproject.toml")
    result = p.gitmig("adopt", cwd=p.root / "blog")
    assert result.exit_code == 0, result.output
    assert history(sqlite_url) == ["blog.0001_initial"]


@pytest.mark.slow
def test_a_database_behind_head_is_refused(tmp_path: Path, database_url: str) -> None:
    p = alembic_project(tmp_path / "proj", database_url)
    first = next((p.root / "alembic/versions").glob("*_initial.py")).name.split("_")[0]
    p.write("blog/models.py", p.read("blog/models.py") + VIEWS)
    alembic(p, "revision", "--autogenerate", "-m", "views")
    heads = next((p.root / "alembic/versions").glob("*_views.py")).name.split("_")[0]
    before = p.snapshot()
    line = assert_refused(p.gitmig("adopt"), before, p.snapshot())
    assert f"is at Alembic revision {first}, not at the head ({heads})" in line
    assert p.gitmig("adopt").stderr.splitlines()[1] == (
        "hint: bring it to head first with `alembic upgrade head`, then run "
        "`gitmig adopt` again")
    assert "gitmig_migrations" not in table_names(database_url)
    alembic(p, "upgrade", "head")
    assert p.gitmig("adopt").exit_code == 0


@pytest.mark.slow
def test_a_hand_made_difference_is_refused_and_listed(tmp_path: Path,
                                                      database_url: str) -> None:
    p = alembic_project(tmp_path / "proj", database_url)
    execute(database_url, "CREATE INDEX ix_post_slug ON post (slug)")
    before = p.snapshot()
    line = assert_refused(p.gitmig("adopt"), before, p.snapshot())
    assert line.endswith("differs from what the models' migrations make, so they cannot "
                         "be recorded as applied (each is what the database has beyond "
                         "them): + Add index ix_post_slug on post (slug)")
    assert not (p.root / "blog/migrations").exists()
    assert "gitmig_migrations" not in table_names(database_url)


@pytest.mark.slow
def test_retire_alembic(tmp_path: Path, database_url: str) -> None:
    p = alembic_project(tmp_path / "proj", database_url)
    result = p.gitmig("adopt", "--retire-alembic")
    assert result.exit_code == 0, result.output
    assert "  Dropped alembic_version.\n" in result.stdout
    assert "Alembic is retired: delete its files yourself when ready (alembic/versions, " \
        "alembic.ini and env.py)" in result.stdout
    assert table_names(database_url) == {"post", "gitmig_migrations"}
    assert list((p.root / "alembic/versions").glob("*_initial.py"))  # left for the user


def check_no_tool(tmp_path: Path, url: str) -> None:
    p = make_project(tmp_path / "proj", url)
    from .catalog import create_all_of_modules

    create_all_of_modules(p.root, url, "blog.models")
    execute(url, "CREATE TABLE legacy_audit (id INTEGER PRIMARY KEY)")
    result = p.gitmig("adopt")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:2] == [
        "No Alembic project found: adopting the database as it is.",
        "Wrote blog/migrations/0001_initial.py"]
    assert "  Unmanaged tables (in no app, left alone): legacy_audit\n" in result.stdout
    assert history(url) == ["blog.0001_initial"]
    again = p.gitmig("adopt")
    assert again.exit_code == 0
    assert "already records every migration; nothing to do." in again.stdout


@pytest.mark.slow
def test_adopt_a_project_with_no_migration_tool(tmp_path: Path, database_url: str) -> None:
    check_no_tool(tmp_path, database_url)


def test_adopt_a_project_with_no_migration_tool_on_sqlite(tmp_path: Path,
                                                          sqlite_url: str) -> None:
    """The fast variant: the tables made by plain SQL, as a team without a tool would."""
    p = make_project(tmp_path / "proj", sqlite_url, MODELS)
    execute(sqlite_url, "CREATE TABLE post (id INTEGER NOT NULL, title VARCHAR(200) NOT NULL,"
            " body TEXT, summary VARCHAR(100), slug VARCHAR(50),"
            " score INTEGER DEFAULT '0' NOT NULL, PRIMARY KEY (id),"
            " CONSTRAINT ck_post_score CHECK (score >= 0))")
    execute(sqlite_url, "CREATE INDEX ix_post_title ON post (title)")
    result = p.gitmig("adopt")
    assert result.exit_code == 0, result.output
    assert history(sqlite_url) == ["blog.0001_initial"]


def test_every_database_is_proven_before_any_is_recorded(tmp_path: Path,
                                                         sqlite_url: str) -> None:
    p = make_project(tmp_path / "proj", sqlite_url, MODELS)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    execute(sqlite_url, "DROP TABLE gitmig_migrations")  # tables made by another tool
    other = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    execute(other, "CREATE TABLE post (id INTEGER PRIMARY KEY)")
    before = p.snapshot()
    line = assert_refused(p.gitmig("adopt", "--database", sqlite_url, "--database", other),
                          before, p.snapshot())
    assert line.startswith(f"gitmig: error: the database {other} differs from what the "
                           "models' migrations make")
    assert "- Drop column post.title" in line
    assert "gitmig_migrations" not in table_names(sqlite_url)  # the first is not recorded
    done = p.gitmig("adopt", "--database", sqlite_url)
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[1] == (  # the migration was there already: none written
        f"{sqlite_url}: its schema is what the migrations make; recorded as applied: "
        "blog.0001_initial")
