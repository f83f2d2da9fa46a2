"""`gitmig showmigrations`: what is applied, per app, as a plan, as JSON."""

from __future__ import annotations

import datetime as dt
import json

from .conftest import Project
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
