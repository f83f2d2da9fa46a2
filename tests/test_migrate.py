"""`gitmig migrate` end to end: real projects, the real CLI, real databases.

Every test checks what the user sees (lines, exit codes) and what the database holds
(tables, the history table's rows).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pygit2
import pytest
import sqlalchemy as sa

from gitmig.config import load_config
from gitmig.migrations.loader import load_graph

from .conftest import BASE, Project, Result, assert_refused
from .schema_compare import reflected_schema

POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
"""

POST_WITH_SLUG = POST + """    slug: Mapped[str | None] = mapped_column(sa.String(50))
"""

PROGRESS = re.compile(r"^(Applying|Unapplying) (\w+\.\w+)\.\.\. (OK \(\d+ ms\)|FAKED|FAILED)$")


def models(project: Project, body: str, app: str = "blog") -> None:
    project.write(f"{app}/models.py", BASE + body)


def make(project: Project, *args: str) -> None:
    result = project.gitmig("makemigrations", "--no-input", *args)
    assert result.exit_code == 0, result.output


def migrate(project: Project, url: str, *args: str, code: int = 0) -> Result:
    result = project.gitmig("migrate", "--database", url, *args)
    assert result.exit_code == code, result.output
    return result


def steps(stdout: str) -> list[tuple[str, str, str]]:
    """(verb, migration, outcome) of every progress line; every line must be one."""
    out = []
    for line in stdout.splitlines():
        match = PROGRESS.match(line)
        assert match, f"not a progress line: {line!r}"
        out.append((match[1], match[2], match[3].split(" ")[0]))
    return out


def applied(url: str) -> list[tuple[str, str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("gitmig_migrations"):
                return []
            rows = conn.execute(sa.text("SELECT app, name FROM gitmig_migrations"))
            return sorted((r[0], r[1]) for r in rows)
    finally:
        engine.dispose()


def tables(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return sorted(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def database_state(url: str) -> Any:
    """Everything in the database, history rows included, to prove nothing changed."""
    path = sa.engine.make_url(url).database
    if url.startswith("sqlite") and path and not Path(path).exists():
        return "no database file"
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows: list[Any] = []
            if sa.inspect(conn).has_table("gitmig_migrations"):
                rows = [tuple(r) for r in conn.execute(sa.text(
                    "SELECT app, name, checksum, git_commit FROM gitmig_migrations "
                    "ORDER BY app, name"))]
        return reflected_schema(url, exclude=()), rows
    finally:
        engine.dispose()


def error(result: Result) -> str:
    """The one error line of a failed command (exit 2, no traceback)."""
    return assert_refused(result)


def two_migrations(project: Project) -> None:
    models(project, POST)
    make(project)
    models(project, POST_WITH_SLUG)
    make(project)
    assert project.migrations("blog") == ["0001_initial.py", "0002_post_add_slug.py"]


# -- applying and unapplying ---------------------------------------------------------------


def test_migrate_applies_everything_once(project: Project, database_url: str) -> None:
    two_migrations(project)

    result = migrate(project, database_url)

    assert steps(result.stdout) == [
        ("Applying", "blog.0001_initial", "OK"),
        ("Applying", "blog.0002_post_add_slug", "OK"),
    ]
    assert tables(database_url) == ["gitmig_migrations", "post"]
    columns = [c["name"] for c in sa.inspect(sa.create_engine(database_url)).get_columns("post")]
    assert sorted(columns) == ["id", "slug", "title"]
    graph = load_graph(load_config(project.root / "pyproject.toml"))
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = {(r.app, r.name): r for r in conn.execute(sa.text(
            "SELECT app, name, checksum, applied_at, git_commit FROM gitmig_migrations"))}
    engine.dispose()
    assert set(rows) == {("blog", "0001_initial"), ("blog", "0002_post_add_slug")}
    for key, row in rows.items():
        assert row.checksum == graph.nodes[key].checksum
        assert row.applied_at is not None
        assert row.git_commit is None  # the project is not in a git repository

    again = migrate(project, database_url)
    assert again.stdout == "No migrations to apply.\n"
    assert applied(database_url) == sorted(rows)


def test_migrate_records_the_checked_out_commit(project: Project, sqlite_url: str) -> None:
    repo = pygit2.init_repository(str(project.root))
    two_migrations(project)
    repo.index.add_all()
    repo.index.write()
    signature = pygit2.Signature("Dev", "dev@example.com")
    commit = repo.create_commit("HEAD", signature, signature, "models", repo.index.write_tree(), [])

    migrate(project, sqlite_url)

    engine = sa.create_engine(sqlite_url)
    with engine.connect() as conn:
        commits = {r[0] for r in conn.execute(sa.text("SELECT git_commit FROM gitmig_migrations"))}
    engine.dispose()
    assert commits == {str(commit)}


def test_migrate_to_a_target_goes_back_and_forth(project: Project, database_url: str) -> None:
    two_migrations(project)
    migrate(project, database_url)

    back = migrate(project, database_url, "blog", "0001")
    assert steps(back.stdout) == [("Unapplying", "blog.0002_post_add_slug", "OK")]
    assert applied(database_url) == [("blog", "0001_initial")]
    columns = {c["name"] for c in sa.inspect(sa.create_engine(database_url)).get_columns("post")}
    assert columns == {"id", "title"}

    forth = migrate(project, database_url, "blog", "0002_post_add_slug")
    assert steps(forth.stdout) == [("Applying", "blog.0002_post_add_slug", "OK")]

    zero = migrate(project, database_url, "blog", "zero")
    assert steps(zero.stdout) == [
        ("Unapplying", "blog.0002_post_add_slug", "OK"),
        ("Unapplying", "blog.0001_initial", "OK"),
    ]
    assert tables(database_url) == ["gitmig_migrations"]
    assert applied(database_url) == []

    assert migrate(project, database_url, "blog", "zero").stdout == "Nothing to unapply.\n"
    assert migrate(project, database_url, "blog", "zero", "--plan").stdout == \
        "Nothing to unapply.\n"


def test_unapplying_an_app_unapplies_what_other_apps_built_on_it(
    project: Project, database_url: str
) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'blog = "blog.models"', 'blog = "blog.models"\nshop = "shop.models"'))
    project.write("shop/__init__.py", "")
    models(project, """
class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
""", app="shop")
    project.write("blog/models.py", """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from shop.models import Base


class Review(Base):
    __tablename__ = "review"
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(sa.ForeignKey("customer.id"))
""")
    make(project)
    assert "shop.0001_initial" in project.read("blog/migrations/0001_initial.py")

    only_blog = migrate(project, database_url, "blog")
    assert steps(only_blog.stdout) == [
        ("Applying", "shop.0001_initial", "OK"),
        ("Applying", "blog.0001_initial", "OK"),
    ]

    zero = migrate(project, database_url, "shop", "zero")
    assert steps(zero.stdout) == [
        ("Unapplying", "blog.0001_initial", "OK"),
        ("Unapplying", "shop.0001_initial", "OK"),
    ]
    assert tables(database_url) == ["gitmig_migrations"]


def test_plan_prints_operations_and_changes_nothing(project: Project, sqlite_url: str) -> None:
    two_migrations(project)

    plan = migrate(project, sqlite_url, "--plan")
    assert plan.stdout.splitlines() == [
        "Planned operations:",
        "Apply blog.0001_initial",
        "    Create table post",
        "Apply blog.0002_post_add_slug",
        "    Add column slug to post",
    ]
    assert database_state(sqlite_url) == "no database file"

    migrate(project, sqlite_url)
    before = database_state(sqlite_url)
    back = migrate(project, sqlite_url, "blog", "zero", "--plan")
    assert back.stdout.splitlines() == [
        "Planned operations:",
        "Unapply blog.0002_post_add_slug",
        "    Undo: Add column slug to post",
        "Unapply blog.0001_initial",
        "    Undo: Create table post",
    ]
    assert database_state(sqlite_url) == before


def test_check_fails_while_migrations_are_unapplied(project: Project, database_url: str) -> None:
    two_migrations(project)
    migrate(project, database_url, "blog", "0001")
    before = database_state(database_url)

    check = migrate(project, database_url, "--check", code=1)
    assert check.stderr.strip() == (
        "gitmig: the database is not up to date: 1 migration to apply; run `gitmig migrate`"
    )
    assert database_state(database_url) == before

    migrate(project, database_url)
    ok = migrate(project, database_url, "--check")
    assert ok.stdout == "The database is up to date.\n"


def test_fake_records_without_running(project: Project, database_url: str) -> None:
    two_migrations(project)

    fake = migrate(project, database_url, "--fake")
    assert steps(fake.stdout) == [
        ("Applying", "blog.0001_initial", "FAKED"),
        ("Applying", "blog.0002_post_add_slug", "FAKED"),
    ]
    assert tables(database_url) == ["gitmig_migrations"]
    assert applied(database_url) == [("blog", "0001_initial"), ("blog", "0002_post_add_slug")]

    unfake = migrate(project, database_url, "blog", "0001", "--fake")
    assert steps(unfake.stdout) == [("Unapplying", "blog.0002_post_add_slug", "FAKED")]
    assert applied(database_url) == [("blog", "0001_initial")]


def test_an_edited_migration_is_reported(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    path = "blog/migrations/0002_post_add_slug.py"
    project.write(path, project.read(path).replace("length=50", "length=80"))

    result = migrate(project, sqlite_url)
    assert result.stdout == "No migrations to apply.\n"
    assert result.stderr.strip() == (
        "warning: blog.0002_post_add_slug was edited after it was applied: the database has "
        "the old version. Undo the edit and put the change in a new migration"
    )

    check = migrate(project, sqlite_url, "--check", code=1)
    assert "1 edited after being applied" in check.stderr


def test_a_migration_missing_from_disk_is_reported(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    (project.root / "blog/migrations/0002_post_add_slug.py").unlink()

    result = migrate(project, sqlite_url)
    assert result.stdout == "No migrations to apply.\n"
    assert "blog.0002_post_add_slug is applied to the database but its file is missing" in (
        result.stderr)
    assert applied(sqlite_url) == [("blog", "0001_initial"), ("blog", "0002_post_add_slug")]


def test_database_from_environment_and_config(project: Project, tmp_path: Path) -> None:
    models(project, POST)
    make(project)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    from_config = project.gitmig("migrate", "--config", str(project.root / "pyproject.toml"),
                                 cwd=elsewhere)
    assert from_config.exit_code == 0, from_config.output
    assert tables(f"sqlite:///{project.root / 'db.sqlite3'}") == ["gitmig_migrations", "post"]

    env_url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    from_env = project.gitmig("migrate", env={"GITMIG_DATABASE_URL": env_url})
    assert from_env.exit_code == 0, from_env.output
    assert applied(env_url) == [("blog", "0001_initial")]


# -- failures ------------------------------------------------------------------------------


FAILING = '''"""A migration whose second operation fails."""
import sqlalchemy as sa

from gitmig import ops

parents = ["0001_initial"]
operations = [
    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True, nullable=False)),
    ops.RunSQL("INSERT INTO no_such_table VALUES (1)"),
]
'''


def test_a_failing_migration_names_its_operation(project: Project, database_url: str) -> None:
    models(project, POST)
    make(project)
    project.write("blog/migrations/0002_broken.py", FAILING)

    result = migrate(project, database_url, code=2)

    assert steps(result.stdout) == [
        ("Applying", "blog.0001_initial", "OK"),
        ("Applying", "blog.0002_broken", "FAILED"),
    ]
    line = error(result)
    assert line.startswith(
        "gitmig: error: applying blog.0002_broken failed at operation 2 of 2 "
        "(Run SQL: INSERT INTO no_such_table VALUES (1)): ")
    assert "no_such_table" in line.split("): ", 1)[1]
    if database_url.startswith("mysql"):
        # DDL cannot be rolled back: the table stays, and the user is told so; the history
        # keeps the migration as interrupted (tests/test_reliability_crash.py), not applied.
        assert "so the operations before it already ran and stay: 1. Create table tag." in line
        assert tables(database_url) == ["gitmig_migrations", "post", "tag"]
        assert "gitmig_migrations records the migration as interrupted" in line
        assert error(project.gitmig("migrate", "--database", database_url)).startswith(
            "gitmig: error: blog.0002_broken was interrupted while being applied")
    else:
        assert applied(database_url) == [("blog", "0001_initial")]
        assert "Its changes were rolled back" in line
        assert tables(database_url) == ["gitmig_migrations", "post"]


IRREVERSIBLE = '''"""Raw SQL with no way back."""
from gitmig import ops

parents = ["0001_initial"]
operations = [
    ops.RunSQL("UPDATE post SET title = 'x'"),
]
'''


def test_irreversible_migration_stops_the_plan_before_anything_runs(
    project: Project, database_url: str
) -> None:
    models(project, POST)
    make(project)
    project.write("blog/migrations/0002_touch.py", IRREVERSIBLE)
    migrate(project, database_url)
    before = database_state(database_url)

    for args in (("blog", "zero"), ("blog", "zero", "--plan")):
        result = project.gitmig("migrate", "--database", database_url, *args)
        assert error(result) == (
            "gitmig: error: cannot unapply blog.0002_touch: operation 1 (Run SQL: UPDATE post "
            "SET title = 'x') has no reverse, so the migration is irreversible; nothing was "
            "changed. Give it a reverse (reverse_sql= or a reverse function) to go back past it"
        )
        assert result.stdout == ""
        assert database_state(database_url) == before

    # Faking runs nothing, so it may go back past what cannot be undone.
    fake = migrate(project, database_url, "blog", "zero", "--fake")
    assert steps(fake.stdout) == [("Unapplying", "blog.0002_touch", "FAKED"),
                                  ("Unapplying", "blog.0001_initial", "FAKED")]
    assert applied(database_url) == []
    assert tables(database_url) == ["gitmig_migrations", "post"]


def test_unreachable_database_hides_the_password(project: Project) -> None:
    models(project, POST)
    make(project)
    for url in ("postgresql://bob:s3cret@127.0.0.1:1/shop",
                "mysql+pymysql://bob:s3cret@127.0.0.1:1/shop"):
        result = project.gitmig("migrate", "--database", url)
        line = error(result)
        shown = url.replace("s3cret", "***")
        assert line.startswith(f"gitmig: error: cannot connect to the database {shown}: ")
        assert "s3cret" not in result.output
    missing_folder = f"sqlite:///{project.root / 'no' / 'such' / 'folder' / 'db.sqlite3'}"
    assert "cannot connect to the database" in error(
        project.gitmig("migrate", "--database", missing_folder))


def test_bad_app_or_target_changes_nothing(project: Project, database_url: str) -> None:
    two_migrations(project)
    migrate(project, database_url, "blog", "0001")
    before = database_state(database_url)
    snapshot = project.snapshot()

    cases = {
        ("nope",): "gitmig: error: unknown app 'nope' (configured apps: blog); add it under "
                   f"[tool.gitmig.apps] in {project.root / 'pyproject.toml'}",
        ("blog", "0009"): "gitmig: error: app 'blog' has no migration '0009'; "
                          "see `gitmig showmigrations blog`",
        ("blog", "000"): "gitmig: error: '000' matches several migrations of 'blog' "
                         "(0001_initial, 0002_post_add_slug); give more of the name",
    }
    for args, message in cases.items():
        result = project.gitmig("migrate", "--database", database_url, *args)
        assert error(result) == message
        assert result.stdout == ""
        assert database_state(database_url) == before
        assert project.snapshot() == snapshot


def test_history_of_an_unknown_app_is_refused(project: Project, database_url: str) -> None:
    models(project, POST)
    make(project)
    migrate(project, database_url)
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
            "VALUES ('ghost', '0001_initial', 'abc', CURRENT_TIMESTAMP)"))
    engine.dispose()
    models(project, POST_WITH_SLUG)
    make(project)
    before = database_state(database_url)

    for command in ("migrate", "showmigrations"):
        result = project.gitmig(command, "--database", database_url)
        assert error(result).startswith(
            "gitmig: error: the database's history (gitmig_migrations) records migrations of "
            "app 'ghost' (ghost.0001_initial), which is not configured (apps: blog)")
        assert database_state(database_url) == before


def test_several_leaves_must_be_merged_first(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    project.write("blog/migrations/0002_other.py", '''
from gitmig import ops

parents = ["0001_initial"]
operations: list[ops.Operation] = []
''')
    result = project.gitmig("migrate", "--database", sqlite_url)
    assert result.exit_code == 1, result.output  # a conflict is a failed check
    assert result.stderr.startswith("gitmig: app 'blog' has conflicting migrations, several "
                                    "are latest (0002_other, 0002_post_add_slug)\nhint: run "
                                    "`gitmig resolve blog`")
    assert database_state(sqlite_url) == "no database file"


# -- asking before dropping data -------------------------------------------------------------


@pytest.mark.parametrize(("answer", "code"), [("n", 130), ("y", 0)])
def test_a_terminal_is_asked_before_data_is_dropped(
    project: Project, sqlite_url: str, answer: str, code: int
) -> None:
    from .terminal import run_in_terminal

    two_migrations(project)
    migrate(project, sqlite_url)

    status, output = run_in_terminal(
        ["migrate", "blog", "0001", "--database", sqlite_url], project.root,
        answers=[("Continue? [y/N]:", answer)])

    assert status == code, output
    assert "blog.0002_post_add_slug: Undo: Add column slug to post" in output
    expected = [("blog", "0001_initial")] + ([] if answer == "y" else [
        ("blog", "0002_post_add_slug")])
    assert applied(sqlite_url) == expected

    quiet = migrate(project, sqlite_url, "blog", "zero", "--no-input")
    assert "Continue?" not in quiet.output
    assert applied(sqlite_url) == []
