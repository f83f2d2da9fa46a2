"""gitmig's pytest plugin run by pytest itself (pytester): the stairway finds a broken
unapply on each database, the checks, the gitmig_migrator fixture, and `gitmig test`."""

from __future__ import annotations

import importlib
import os
import pkgutil
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa

import gitmig

from .conftest import Project

pytest_plugins = ["pytester"]

# Pytester's inline runs forget the modules first imported during a run; gitmig's are all
# imported here first, so that every run shares one copy of its classes with this process.
for _module in pkgutil.walk_packages(gitmig.__path__, "gitmig."):
    if not _module.name.endswith(("__main__", "_hook_scripts")):
        importlib.import_module(_module.name)
# The same for the database drivers: a driver imported again after a run raises errors of
# new classes, which SQLAlchemy no longer recognizes as its dialect's (a traceback later on).
for _driver in ("psycopg", "pymysql"):
    importlib.import_module(_driver)

MODELS = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(20))
    slug: Mapped[str | None] = mapped_column(sa.String(20))
"""

INITIAL = '''
"""Create table post"""
import sqlalchemy as sa

from gitmig import ops

parents = []
operations = [
    ops.CreateTable(
        "post",
        sa.Column("id", sa.Integer(), nullable=False, primary_key=True),
        sa.Column("title", sa.String(length=20), nullable=False),
    ),
]
'''

ADD_SLUG = '''
"""post: add slug, filled from the title"""
import sqlalchemy as sa

from gitmig import ops


def fill(conn, schema):
    post = schema.tables["post"]
    conn.execute(post.update().values(slug=sa.func.lower(post.c.title)))


parents = ["0001_initial"]
operations = [
    ops.AddColumn("post", sa.Column("slug", sa.String(length=20), nullable=True)),
    ops.RunPython(fill, ops.RunPython.noop),
]
'''

BROKEN = '''
"""An audit table whose reverse forgets to drop it"""
from gitmig import ops

parents = ["0002_post_add_slug"]
operations = [
    ops.RunSQL("CREATE TABLE audit (id INTEGER PRIMARY KEY)", reverse_sql="SELECT 1"),
]
'''

ONE_WAY = '''
"""Irreversible on purpose"""
from gitmig import ops

parents = ["0003_audit"]
operations = [ops.RunSQL("CREATE TABLE one_way (id INTEGER PRIMARY KEY)")]
'''


def write_project(root: Path, *, broken: bool = True) -> None:
    files = {
        "pyproject.toml": '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n'
                          '[tool.gitmig.apps]\nblog = "blog.models"\n',
        "blog/__init__.py": "",
        "blog/models.py": MODELS,
        "blog/migrations/0001_initial.py": INITIAL,
        "blog/migrations/0002_post_add_slug.py": ADD_SLUG,
    }
    if broken:
        files["blog/migrations/0003_audit.py"] = BROKEN
        files["blog/migrations/0004_one_way.py"] = ONE_WAY
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


@pytest.fixture
def plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("GITMIG_CONFIG", raising=False)
    monkeypatch.delenv("GITMIG_DATABASE_URL", raising=False)
    write_project(pytester.path)
    return pytester.path


def _leftover_databases(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            query = ("SELECT datname FROM pg_database" if engine.dialect.name == "postgresql"
                     else "SHOW DATABASES")
            names = conn.scalars(sa.text(query))
            return {n for n in names if n.startswith("gitmig_scratch_")}
    finally:
        engine.dispose()


def _stairway_finds_the_broken_unapply(pytester: pytest.Pytester, url: str) -> None:
    result = pytester.runpytest("--gitmig-stairway", "--gitmig-database", url,
                                "-p", "no:cacheprovider", "-rfs")
    result.assert_outcomes(passed=2, failed=1, skipped=1)
    out = result.stdout.str()
    assert "FAILED pyproject.toml::gitmig-stairway[blog.0003_audit]" in out
    result.stdout.fnmatch_lines([
        "blog.0003_audit: unapplying it does not give back the schema it was applied to:",
        "  after unapplying it, table audit: left behind",
    ])
    result.stdout.fnmatch_lines(["*blog.0004_one_way is irreversible (operation 1 (Run SQL: "
                                 "CREATE TABLE one_way*) has no reverse); applied, not unapplied"])


def test_stairway_finds_a_broken_unapply_on_sqlite(
    plugin_project: Path, pytester: pytest.Pytester, sqlite_url: str
) -> None:
    _stairway_finds_the_broken_unapply(pytester, sqlite_url)


@pytest.mark.slow  # a throwaway database made and dropped on the server
@pytest.mark.parametrize("server", ["postgres_url", "mysql_url"])
def test_stairway_finds_a_broken_unapply_on_servers_and_drops_its_database(
    plugin_project: Path, pytester: pytest.Pytester, request: pytest.FixtureRequest,
    server: str,
) -> None:
    url = request.getfixturevalue(server)
    before = _leftover_databases(url)
    _stairway_finds_the_broken_unapply(pytester, url)
    # The run is in this process, its scratch names carry its pid; tests on other
    # pytest-xdist workers make and drop theirs on the same server meanwhile.
    mine = f"_{os.getpid()}_"
    assert {n for n in _leftover_databases(url) - before if mine in n} == set()


def test_a_healthy_history_passes_and_checks_are_items(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITMIG_CONFIG", raising=False)
    write_project(pytester.path, broken=False)
    result = pytester.runpytest("--gitmig-stairway", "--gitmig-check", "-p",
                                "no:cacheprovider", "-v")
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["*gitmig-models-match-migrations PASSED*",
                                 "*gitmig-lock-files PASSED*",
                                 "*gitmig-stairway?blog.0001_initial? PASSED*"])
    # A model change without its migration, and a migration edited under its lock file.
    models = pytester.path / "blog" / "models.py"
    models.write_text(models.read_text() + "    body: Mapped[str | None] = "
                      "mapped_column(sa.Text)\n")
    (pytester.path / "blog" / "migrations" / "gitmig.lock").write_text(
        "leaf: 0002_post_add_slug\nchain: 0000\n")
    result = pytester.runpytest("--gitmig-check", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*model changes without migrations in blog*",
                                 "*lock files do not match their migrations: blog (stale)*"])


MIGRATOR_TEST = '''
import sqlalchemy as sa


def test_fill_slugs(gitmig_migrator):
    schema = gitmig_migrator.migrate("blog", "0001")
    assert "slug" not in schema.tables["post"].c
    with gitmig_migrator.engine.begin() as conn:
        conn.execute(schema.tables["post"].insert().values(id=1, title="Hello"))
    schema = gitmig_migrator.migrate("blog", "0002")
    post = schema.tables["post"]
    with gitmig_migrator.engine.connect() as conn:
        assert conn.execute(sa.select(post.c.slug)).scalar() == "hello"
'''


def test_the_migrator_fixture_tests_a_data_migration(
    plugin_project: Path, pytester: pytest.Pytester
) -> None:
    pytester.makepyfile(test_data=MIGRATOR_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_the_plugin_stays_out_of_projects_without_tool_gitmig(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITMIG_CONFIG", raising=False)
    pytester.makepyprojecttoml("[tool.other]\nx = 1\n")
    pytester.makepyfile(test_data=MIGRATOR_TEST)
    result = pytester.runpytest("--gitmig-stairway", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)  # no items of its own, and the fixture says why
    result.stdout.fnmatch_lines(["*gitmig_migrator needs a project with [[]tool.gitmig[]]*"])


@pytest.mark.slow  # pytest inside pytest through the CLI, about 1 s
def test_gitmig_test_runs_the_plugin_and_exits_1_on_a_broken_unapply(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    write_project(root)
    project = Project(root)
    result = project.gitmig("test", "--no-check", cwd=root / "blog")
    assert result.exit_code == 1, result.output
    assert "table audit: left behind" in result.output
    assert "blog.0004_one_way is irreversible" in result.output


def test_checks_come_along_when_only_a_tests_folder_is_collected(
    plugin_project: Path, pytester: pytest.Pytester
) -> None:
    (plugin_project / "tests").mkdir()
    (plugin_project / "tests" / "test_app.py").write_text("def test_app():\n    pass\n")
    result = pytester.runpytest("tests", "--gitmig-check", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=3)  # no lock files yet: an older project, not a failure
    result.stdout.fnmatch_lines(["*test_app PASSED*",
                                 "*gitmig-models-match-migrations PASSED*",
                                 "*gitmig-lock-files PASSED*"])
