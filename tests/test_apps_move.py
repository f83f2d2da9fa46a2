"""A model moved from one app to another: the table stays, only the migrations' record moves."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import BASE, Project, apps_project
from .terminal import run_in_terminal

SHARED = BASE + """
import enum


class Level(enum.Enum):
    easy = "easy"
    hard = "hard"
"""

RECIPE = """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from core.db import Base, Level


class Recipe(Base):
    __tablename__ = "recipe"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))
    level: Mapped[Level] = mapped_column(sa.Enum(Level, name="recipe_level"))
"""

PANTRY = """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from core.db import Base


class Shelf(Base):
    __tablename__ = "shelf"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def kitchen_project(root: Path, database: str = "sqlite:///db.sqlite3") -> Project:
    p = apps_project(root, database, ["kitchen", "cooking"], SHARED)
    p.write("kitchen/models.py", PANTRY + RECIPE)
    p.write("cooking/models.py", "from core.db import Base\n")
    return p


def move_recipe(p: Project) -> None:
    p.write("kitchen/models.py", PANTRY)
    p.write("cooking/models.py", RECIPE)


def rows(url: str) -> list[tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text("SELECT id, title FROM recipe"))]
    finally:
        engine.dispose()


def setup_with_a_row(p: Project, url: str) -> None:
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert p.gitmig("migrate", "--database", url).exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO recipe (id, title, level) VALUES (1, 'soup', 'easy')"))
    engine.dispose()


def test_apps_move_without_an_answer_stops_naming_the_table_and_the_flag(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    move_recipe(p)
    before = p.snapshot()
    r = p.gitmig("makemigrations", "--no-input")
    assert r.exit_code == 2
    assert r.stderr.splitlines() == [
        "gitmig: error: table recipe moved from app 'kitchen' to app 'cooking'; pass "
        "--move recipe=cooking to move it in the migrations' state only (no SQL, rows kept)"
    ]
    assert p.snapshot() == before


def test_apps_move_with_the_flag_keeps_the_table_and_its_rows(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    url = f"sqlite:///{p.root / 'db.sqlite3'}"
    setup_with_a_row(p, url)
    move_recipe(p)
    r = p.gitmig("makemigrations", "--move", "recipe=cooking")
    assert r.exit_code == 0, r.output
    assert p.migrations("kitchen") == ["0001_initial.py", "0002_move_recipe_to_cooking.py"]
    assert p.migrations("cooking") == ["0001_initial.py"]
    out = p.read("kitchen/migrations/0002_move_recipe_to_cooking.py")
    assert 'ops.MoveTableOut("recipe", to_app="cooking")' in out
    into = p.read("cooking/migrations/0001_initial.py")
    assert 'parents = ["kitchen.0002_move_recipe_to_cooking"]' in into
    assert "ops.MoveTableIn(" in into and 'from_app="kitchen"' in into
    assert "Move table recipe to app 'cooking' (state only: no SQL, rows kept)" in r.stdout

    sql = p.gitmig("sqlmigrate", "cooking", "0001", "--dialect", "postgresql")
    assert sql.exit_code == 0, sql.output
    assert "CREATE" not in sql.stdout and "DROP" not in sql.stdout

    r = p.gitmig("migrate")
    assert r.exit_code == 0, r.output
    assert rows(url) == [(1, "soup")]
    assert p.gitmig("makemigrations", "--check").exit_code == 0

    # Both halves go back, the table and its rows stay where they are.
    assert p.gitmig("migrate", "cooking", "zero").exit_code == 0
    assert p.gitmig("migrate", "kitchen", "0001").exit_code == 0
    assert rows(url) == [(1, "soup")]
    assert p.gitmig("migrate").exit_code == 0
    assert rows(url) == [(1, "soup")]


def test_apps_move_and_change_in_one_step(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    url = f"sqlite:///{p.root / 'db.sqlite3'}"
    setup_with_a_row(p, url)
    move_recipe(p)
    p.write("cooking/models.py", RECIPE + "    minutes: Mapped[int | None]\n")
    r = p.gitmig("makemigrations", "--move", "recipe=cooking")
    assert r.exit_code == 0, r.output
    into = p.read("cooking/migrations/0001_initial.py")
    assert 0 < into.index("ops.MoveTableIn(") < into.index("ops.AddColumn(")
    assert p.gitmig("migrate").exit_code == 0
    assert rows(url) == [(1, "soup")]
    assert p.gitmig("makemigrations", "--check").exit_code == 0


def test_apps_move_answer_must_match_the_models(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    r = p.gitmig("makemigrations", "--move", "recipe=cooking")
    assert r.exit_code == 2
    assert "--move recipe=cooking matches no change" in r.stderr
    move_recipe(p)
    r = p.gitmig("makemigrations", "--move", "recipe=pantry")
    assert r.exit_code == 2
    assert "the models put table recipe in app 'cooking', not 'pantry'" in r.stderr
    r = p.gitmig("makemigrations", "cooking", "--move", "recipe=cooking")
    assert r.exit_code == 2
    assert "run `gitmig makemigrations kitchen cooking`" in r.stderr
    assert p.migrations("cooking") == []


def test_apps_move_asked_on_a_terminal(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    move_recipe(p)
    code, out = run_in_terminal(
        ["makemigrations"], p.root,
        [("Did you move table recipe from app 'kitchen' to app 'cooking'? (the table and its "
          "rows stay; only the migrations' record moves) [y/N]", "y")],
    )
    assert code == 0, out
    assert p.migrations("cooking") == ["0001_initial.py"]
    assert p.migrations("kitchen")[-1] == "0002_move_recipe_to_cooking.py"


def test_apps_move_keeps_the_postgresql_enum_type_and_rows(
    tmp_path: Path, postgres_url: str
) -> None:
    p = kitchen_project(tmp_path / "p")
    setup_with_a_row(p, postgres_url)
    move_recipe(p)
    assert p.gitmig("makemigrations", "--move", "recipe=cooking").exit_code == 0
    r = p.gitmig("migrate", "--database", postgres_url)
    assert r.exit_code == 0, r.output
    assert rows(postgres_url) == [(1, "soup")]
    r = p.gitmig("migrate", "cooking", "zero", "--database", postgres_url)
    assert r.exit_code == 0, r.output
    engine = sa.create_engine(postgres_url)
    with engine.connect() as conn:
        types = conn.execute(sa.text("SELECT typname FROM pg_type WHERE typname = 'recipe_level'"))
        assert types.scalars().all() == ["recipe_level"]
    engine.dispose()
    assert rows(postgres_url) == [(1, "soup")]


@pytest.mark.parametrize("app", ["kitchen", "cooking"])
def test_apps_move_check_reports_it_pending(tmp_path: Path, app: str) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    move_recipe(p)
    r = p.gitmig("makemigrations", "--check")
    assert r.exit_code == 1, r.output
    assert app in r.output


def test_apps_move_is_reported_by_status_without_asking(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    move_recipe(p)
    r = p.gitmig("status")
    assert r.exit_code == 1, r.output
    assert "Move table recipe to app 'cooking'" in r.stdout
    assert "Move table recipe from app 'kitchen'" in r.stdout


def test_apps_move_answered_no_stops_and_writes_nothing(tmp_path: Path) -> None:
    p = kitchen_project(tmp_path / "p")
    assert p.gitmig("makemigrations").exit_code == 0
    move_recipe(p)
    before = p.snapshot()
    code, out = run_in_terminal(
        ["makemigrations"], p.root,
        [("Did you move table recipe from app 'kitchen' to app 'cooking'? (the table and its "
          "rows stay; only the migrations' record moves) [y/N]", "n")],
    )
    assert code == 2, out
    assert "gitmig: error: stopped: table recipe is in app 'cooking' in the models" in out
    assert "--move recipe=cooking" in out
    assert p.snapshot() == before
