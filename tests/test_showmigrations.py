"""`gitmig showmigrations`: what is applied, per app, as a plan, as JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import Project, Result
from .gitrepo import gitmig_on_a_terminal
from .test_migrate import POST, error, migrate, models, two_migrations

SHOP = """
class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def two_apps(project: Project) -> None:
    """blog (two migrations) and shop (one)."""
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'blog = "blog.models"', 'blog = "blog.models"\nshop = "shop.models"'))
    project.write("shop/__init__.py", "")
    models(project, SHOP, app="shop")
    two_migrations(project)


def test_lists_each_app_in_graph_order(project: Project, database_url: str) -> None:
    two_apps(project)
    migrate(project, database_url, "blog", "0001")

    result = project.gitmig("showmigrations", "--database", database_url)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "blog",
        " [X] 0001_initial",
        " [ ] 0002_post_add_slug",
        "shop",
        " [ ] 0001_initial",
    ]
    only_shop = project.gitmig("showmigrations", "shop", "--database", database_url)
    assert only_shop.stdout.splitlines() == ["shop", " [ ] 0001_initial"]


def test_plan_lists_everything_in_apply_order_with_parents(
    project: Project, sqlite_url: str
) -> None:
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")

    result = project.gitmig("showmigrations", "--plan", "--database", sqlite_url)

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "[X]  blog.0001_initial",
        "[ ]  blog.0002_post_add_slug  (after blog.0001_initial)",
    ]


def test_json(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    migrate(project, sqlite_url, "blog", "0001")

    listing = json.loads(project.gitmig("showmigrations", "--json", "--database",
                                        sqlite_url).stdout)
    plan = json.loads(project.gitmig("showmigrations", "--plan", "--json", "--database",
                                     sqlite_url).stdout)

    assert listing["database"] == sqlite_url
    first, second = listing["apps"]["blog"]
    assert dt.datetime.fromisoformat(first.pop("applied_at")) >= before
    assert first == {"app": "blog", "name": "0001_initial", "applied": True,
                     "git_commit": None, "missing": False, "edited": False, "parents": []}
    assert second == {"app": "blog", "name": "0002_post_add_slug", "applied": False,
                      "applied_at": None, "git_commit": None, "missing": False,
                      "edited": False, "parents": ["blog.0001_initial"]}
    assert [(e["name"], e["applied"]) for e in plan["plan"]] == [
        ("0001_initial", True), ("0002_post_add_slug", False)]


def test_applied_migrations_without_files_are_listed(project: Project, sqlite_url: str) -> None:
    """What switching to a branch without the newest migration looks like."""
    two_migrations(project)
    migrate(project, sqlite_url)
    (project.root / "blog/migrations/0002_post_add_slug.py").unlink()
    path = "blog/migrations/0001_initial.py"
    project.write(path, project.read(path).replace("length=200", "length=300"))

    listing = project.gitmig("showmigrations", "--database", sqlite_url)
    plan = project.gitmig("showmigrations", "--plan", "--database", sqlite_url)

    assert listing.stdout.splitlines() == [
        "blog",
        " [X] 0001_initial  (edited after it was applied)",
        " [X] 0002_post_add_slug  (applied, but its file is missing)",
    ]
    assert plan.stdout.splitlines()[-1] == (
        "[X]  blog.0002_post_add_slug  (applied, but its file is missing)")


def test_a_database_not_yet_created_shows_nothing_applied(project: Project) -> None:
    models(project, POST)
    project.gitmig("makemigrations")
    before = project.snapshot()

    result = project.gitmig("showmigrations")  # the project's own sqlite:///db.sqlite3

    assert result.stdout.splitlines() == ["blog", " [ ] 0001_initial"]
    assert project.snapshot() == before  # no database file was created


def test_unknown_app(project: Project) -> None:
    assert error(project.gitmig("showmigrations", "shop")) == (
        "gitmig: error: unknown app 'shop' (configured apps: blog); add it under "
        f"[tool.gitmig.apps] in {project.root / 'pyproject.toml'}")


def test_json_dates_are_utc_on_every_database(project: Project, database_url: str) -> None:
    two_migrations(project)
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    migrate(project, database_url, "blog", "0001")
    after = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)

    listing = json.loads(project.gitmig("showmigrations", "--json", "--database",
                                        database_url).stdout)

    applied_at = listing["apps"]["blog"][0]["applied_at"]
    assert applied_at.endswith("+00:00")
    assert before <= dt.datetime.fromisoformat(applied_at) <= after


# -- SQLite files are read without SQLAlchemy ----------------------------------------------
#
# A plain sqlite:///PATH URL is read with Python's sqlite3; the same file named with an
# option SQLAlchemy's driver takes (?timeout=5) is read through SQLAlchemy. Whatever the
# history table holds, a user sees the same thing either way.

MODES = [(), ("--plan",), ("--json",), ("--plan", "--json")]


def sql(url: str, *statements: str) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement)
    finally:
        conn.close()


def through_sqlalchemy(project: Project, url: str, *args: str) -> Result:
    r = project.gitmig("showmigrations", "--database", f"{url}?timeout=5", *args)
    return Result(r.exit_code, r.stdout.replace(f"{url}?timeout=5", url),
                  r.stderr.replace(f"{url}?timeout=5", url))


def rebuilt(columns: str, select: str) -> tuple[str, ...]:
    """gitmig_migrations made again with other columns, keeping its rows."""
    return ("ALTER TABLE gitmig_migrations RENAME TO old_history",
            f"CREATE TABLE gitmig_migrations ({columns})",
            f"INSERT INTO gitmig_migrations SELECT {select} FROM old_history",
            "DROP TABLE old_history")


def not_a_database(url: str) -> None:
    Path(url.removeprefix("sqlite:///")).write_bytes(b"this is not a database " * 100)


def a_folder(url: str) -> None:
    path = Path(url.removeprefix("sqlite:///"))
    path.unlink()
    path.mkdir()


def empty_file(url: str) -> None:
    Path(url.removeprefix("sqlite:///")).write_bytes(b"")


SLUG = "'0002_post_add_slug'"
FROM_A_NEWER_GITMIG = rebuilt(
    "app VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL, checksum VARCHAR(64) NOT NULL, "
    "applied_at DATETIME NOT NULL, git_commit VARCHAR(64), progress VARCHAR(32), "
    "file_sha256 VARCHAR(64), future_level INTEGER NOT NULL, PRIMARY KEY (app, name)", "*, 1")
HISTORIES: dict[str, Callable[[str], None] | tuple[str, ...]] = {
    "as-migrate-made-it": (),
    "interrupted-row": (
        f"UPDATE gitmig_migrations SET progress = 'apply 1/3' WHERE name = {SLUG}",),
    "unreadable-progress": (
        f"UPDATE gitmig_migrations SET progress = 'resume 1/3' WHERE name = {SLUG}",),
    "made-before-progress": ("ALTER TABLE gitmig_migrations DROP COLUMN progress",),
    "made-before-file-sha256": ("ALTER TABLE gitmig_migrations DROP COLUMN file_sha256",),
    "from-a-newer-gitmig": FROM_A_NEWER_GITMIG,
    "missing-columns": ("DROP TABLE gitmig_migrations",
                        "CREATE TABLE gitmig_migrations (app TEXT)"),
    "no-table": ("DROP TABLE gitmig_migrations",),
    "a-view": ("ALTER TABLE gitmig_migrations RENAME TO real_history",
               "CREATE VIEW gitmig_migrations AS SELECT * FROM real_history"),
    "dates-written-by-hand": (
        "UPDATE gitmig_migrations SET applied_at = CURRENT_TIMESTAMP "
        "WHERE name = '0001_initial'",
        f"UPDATE gitmig_migrations SET applied_at = '2024-05-06T07:08:09.5+02:00' "
        f"WHERE name = {SLUG}"),
    "no-dates": (*rebuilt("app, name, checksum, applied_at, git_commit, progress, file_sha256",
                         "*"),
                 "UPDATE gitmig_migrations SET applied_at = NULL, git_commit = 'abc'"),
    "applied-elsewhere-and-edited": (
        "INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
        "VALUES ('blog', '0009_elsewhere', 'x', '2024-01-01 00:00:00')",
        "UPDATE gitmig_migrations SET checksum = 'old' WHERE name = '0001_initial'"),
    "unknown-app": ("INSERT INTO gitmig_migrations (app, name, checksum, applied_at) "
                    "VALUES ('ghost', '0001_x', 'x', CURRENT_TIMESTAMP)",),
    "text-not-utf8": ("UPDATE gitmig_migrations SET git_commit = CAST(X'C328' AS TEXT)",),
    "not-a-database": not_a_database,
    "a-folder": a_folder,
    "empty-file": empty_file,
}


@pytest.mark.parametrize("history", HISTORIES)
def test_sqlite_reads_like_sqlalchemy(project: Project, sqlite_url: str, history: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url)
    change = HISTORIES[history]
    if callable(change):
        change(sqlite_url)
    else:
        sql(sqlite_url, *change)

    for mode in MODES:
        direct = project.gitmig("showmigrations", "--database", sqlite_url, *mode)
        assert direct == through_sqlalchemy(project, sqlite_url, *mode), mode
        assert "Traceback" not in direct.output
        if direct.exit_code:
            error(direct)


def test_what_unusual_histories_show(project: Project, sqlite_url: str) -> None:
    """A few of the histories above, as the user sees them."""
    two_migrations(project)
    migrate(project, sqlite_url)

    def listing(*statements: str) -> list[str]:
        sql(sqlite_url, *statements)
        return project.gitmig("showmigrations", "--database", sqlite_url).stdout.splitlines()

    # A migration interrupted halfway on MariaDB, copied here: not applied.
    assert listing(f"UPDATE gitmig_migrations SET progress = 'apply 1/3' WHERE name = {SLUG}"
                   ) == ["blog", " [X] 0001_initial", " [ ] 0002_post_add_slug"]
    # A newer gitmig's extra column is left alone.
    assert listing(*FROM_A_NEWER_GITMIG) == [
        "blog", " [X] 0001_initial", " [ ] 0002_post_add_slug"]
    # A table this gitmig cannot read is the user's error: one line, exit 2.
    sql(sqlite_url, "DROP TABLE gitmig_migrations", "CREATE TABLE gitmig_migrations (app TEXT)")
    for mode in MODES:
        assert error(project.gitmig("showmigrations", "--database", sqlite_url, *mode)) == (
            f"gitmig: error: error from the database {sqlite_url}: no such column: "
            "gitmig_migrations.name")


def test_a_file_that_is_no_database_is_one_line(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    not_a_database(sqlite_url)
    assert error(project.gitmig("showmigrations", "--database", sqlite_url)) == (
        f"gitmig: error: error from the database {sqlite_url}: file is not a database")
    a_folder(sqlite_url)
    assert error(project.gitmig("showmigrations", "--database", sqlite_url)) == (
        f"gitmig: error: cannot connect to the database {sqlite_url}: unable to open "
        "database file")


@pytest.mark.parametrize("value", ["'yesterday'", "12345"])
def test_a_date_that_is_no_date_is_one_line(project: Project, sqlite_url: str,
                                            value: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")
    sql(sqlite_url, f"UPDATE gitmig_migrations SET applied_at = {value}")

    assert error(project.gitmig("showmigrations", "--database", sqlite_url)) == (
        f"gitmig: error: error from the database {sqlite_url}: gitmig_migrations records "
        f"blog.0001_initial as applied at {value}, which is not a date and time")


@pytest.mark.parametrize("mode", MODES)
def test_a_missing_sqlite_file_is_not_created(project: Project, tmp_path: Path,
                                              mode: tuple[str, ...]) -> None:
    two_migrations(project)
    for path in (tmp_path / "nope.sqlite3", tmp_path / "no" / "such" / "folder.sqlite3"):
        result = project.gitmig("showmigrations", "--database", f"sqlite:///{path}", *mode)

        assert result.exit_code == 0, result.output
        assert "[X]" not in result.stdout and '"applied": true' not in result.stdout
        assert not path.exists() and not (tmp_path / "no").exists()


def test_reading_changes_nothing_in_the_file(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    before = (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns)

    for mode in MODES:
        assert project.gitmig("showmigrations", "--database", sqlite_url, *mode).exit_code == 0

    assert (hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns) == before
    assert [p.name for p in path.parent.glob(f"{path.name}*")] == [path.name]  # no journal


def test_a_write_killed_halfway_is_rolled_back_first(project: Project, sqlite_url: str) -> None:
    """A process killed in the middle of writing leaves a hot journal; reading the file
    rolls it back first, as SQLite always does (and as the SQLAlchemy path does)."""
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")
    path = sqlite_url.removeprefix("sqlite:///")
    killed = (
        "import os, sqlite3\n"
        f"c = sqlite3.connect({path!r}, isolation_level=None)\n"
        "c.execute('PRAGMA cache_size = 1')\n"
        "c.execute('BEGIN')\n"
        "c.execute(\"DELETE FROM gitmig_migrations WHERE name = '0001_initial'\")\n"
        "c.execute('CREATE TABLE filler (x)')\n"
        "c.executemany('INSERT INTO filler VALUES (?)', [('x' * 1000,)] * 2000)\n"
        "os._exit(9)\n"
    )
    subprocess.run([sys.executable, "-c", killed], check=False)
    assert Path(path + "-journal").exists()

    result = project.gitmig("showmigrations", "--database", sqlite_url)

    assert result.stdout.splitlines() == ["blog", " [X] 0001_initial", " [ ] 0002_post_add_slug"]
    assert not Path(path + "-journal").exists()


def test_urls_are_printed_as_sqlalchemy_prints_them(project: Project, tmp_path: Path) -> None:
    from gitmig.db.connection import display_url

    two_migrations(project)
    folder = tmp_path / "my projects+more"
    folder.mkdir()
    for url in (f"sqlite:///{folder}/café.sqlite3", f"sqlite+pysqlite:///{folder}/caf%C3%A9.db"):
        migrate(project, url, "blog", "0001")
        listing = json.loads(project.gitmig("showmigrations", "--json", "--database",
                                            url).stdout)
        assert listing["database"] == display_url(url)
        assert [e["applied"] for e in listing["apps"]["blog"]] == [True, False]
    assert sorted(p.name for p in folder.iterdir()) == ["caf\u00e9.db", "caf\u00e9.sqlite3"]


@pytest.mark.parametrize("mode", MODES)
def test_sqlite_is_read_without_sqlalchemy(project: Project, sqlite_url: str,
                                           mode: tuple[str, ...]) -> None:
    """Nor git, nor rich when the output is piped: a listing costs little more than
    starting Python and reading the migration files."""
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")

    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", "showmigrations",
                        "--database", sqlite_url, *mode], cwd=project.root,
                       capture_output=True, text=True)

    assert r.returncode == 0, r.stderr
    assert r.stdout == project.gitmig("showmigrations", "--database", sqlite_url,
                                      *mode).stdout
    imported = {line.rpartition("|")[2].strip().split(".")[0]
                for line in r.stderr.splitlines() if line.startswith("import time:")}
    assert not imported & {"sqlalchemy", "alembic", "pygit2", "rich"}, r.stderr


def test_colours_only_on_a_terminal(project: Project, sqlite_url: str) -> None:
    two_migrations(project)
    migrate(project, sqlite_url, "blog", "0001")
    (project.root / "blog/migrations/0001_initial.py").write_text(
        project.read("blog/migrations/0001_initial.py") + "\ndef edited(): pass\n")

    code, output = gitmig_on_a_terminal("showmigrations", "--database", sqlite_url,
                                        cwd=project.root)

    assert code == 0, output
    assert output.replace("\r\n", "\n").splitlines() == [
        "\x1b[1mblog\x1b[0m",
        "\x1b[33m [X] 0001_initial  (edited after it was applied)\x1b[0m",
        " [ ] 0002_post_add_slug",
    ]
    piped = project.gitmig("showmigrations", "--database", sqlite_url)
    assert "\x1b" not in piped.stdout
    assert len(piped.stdout.splitlines()) == 3
    forced = subprocess.run([sys.executable, "-m", "gitmig", "showmigrations", "--plan",
                             "--database", sqlite_url], cwd=project.root, capture_output=True,
                            text=True, env={**os.environ, "FORCE_COLOR": "1", "NO_COLOR": ""})
    assert forced.stdout.startswith("\x1b[33m[X]  blog.0001_initial  (edited after"), forced
