"""Apps split per package whose foreign keys point both ways: split into a later migration."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from .conftest import BASE, Project, apps_project

USER = """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from core.db import Base


class User(Base):
    __tablename__ = "user_account"
    id: Mapped[int] = mapped_column(primary_key=True)
    {extra}
"""

POST = """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from core.db import Base


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    {extra}
"""

FAVORITE = 'favorite_post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("post.id"))'
AUTHOR = 'author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_account.id"))'


def cycle_project(root: Path, database: str) -> Project:
    return apps_project(root, database, ["accounts", "blog"], BASE)


def foreign_keys(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url)
    try:
        inspector = sa.inspect(engine)
        return {
            t: sorted(f"{fk['constrained_columns'][0]}->{fk['referred_table']}"
                      for fk in inspector.get_foreign_keys(t))
            for t in sorted(inspector.get_table_names()) if t != "gitmig_migrations"
        }
    finally:
        engine.dispose()


def check_round_trip(p: Project, url: str) -> None:
    r = p.gitmig("migrate", "--database", url)
    assert r.exit_code == 0, r.output
    assert foreign_keys(url) == {
        "post": ["author_id->user_account"],
        "user_account": ["favorite_post_id->post"],
    }
    assert p.gitmig("makemigrations", "--check").exit_code == 0
    for app in ("blog", "accounts"):
        r = p.gitmig("migrate", app, "zero", "--database", url)
        assert r.exit_code == 0, r.output
    assert foreign_keys(url) == {}


def test_apps_new_foreign_keys_both_ways_go_into_a_later_migration(
    tmp_path: Path, database_url: str
) -> None:
    p = cycle_project(tmp_path / "p", database_url)
    p.write("accounts/models.py", USER.format(extra=FAVORITE))
    p.write("blog/models.py", POST.format(extra=AUTHOR))
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert p.migrations("accounts") == ["0001_initial.py",
                                        "0002_user_account_add_fk_favorite_post_id.py"]
    assert p.migrations("blog") == ["0001_initial.py"]
    first = p.read("accounts/migrations/0001_initial.py")
    assert "parents = []" in first and "ForeignKey" not in first
    assert 'parents = ["accounts.0001_initial"]' in p.read("blog/migrations/0001_initial.py")
    second = p.read("accounts/migrations/0002_user_account_add_fk_favorite_post_id.py")
    assert 'parents = ["0001_initial", "blog.0001_initial"]' in second
    assert "ops.AddConstraint(" in second
    check_round_trip(p, database_url)


def test_apps_existing_tables_gain_foreign_keys_both_ways(tmp_path: Path, sqlite_url: str) -> None:
    p = cycle_project(tmp_path / "p", sqlite_url)
    p.write("accounts/models.py", USER.format(extra=""))
    p.write("blog/models.py", POST.format(extra=""))
    assert p.gitmig("makemigrations").exit_code == 0
    p.write("accounts/models.py", USER.format(extra=FAVORITE))
    p.write("blog/models.py", POST.format(extra=AUTHOR))
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert p.migrations("accounts") == [
        "0001_initial.py", "0002_user_account_add_favorite_post_id.py",
        "0003_user_account_add_fk_favorite_post_id.py",
    ]
    assert p.migrations("blog") == ["0001_initial.py", "0002_post_add_author_id.py"]
    check_round_trip(p, sqlite_url)


def test_apps_foreign_keys_one_way_need_no_second_migration(
    tmp_path: Path, sqlite_url: str
) -> None:
    p = cycle_project(tmp_path / "p", sqlite_url)
    p.write("accounts/models.py", USER.format(extra=""))
    p.write("blog/models.py", POST.format(extra=AUTHOR))
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert p.migrations("accounts") == ["0001_initial.py"]
    assert p.migrations("blog") == ["0001_initial.py"]


def test_apps_foreign_keys_both_ways_cannot_be_amended(tmp_path: Path, sqlite_url: str) -> None:
    p = cycle_project(tmp_path / "p", sqlite_url)
    p.write("accounts/models.py", USER.format(extra=""))
    p.write("blog/models.py", POST.format(extra=""))
    assert p.gitmig("makemigrations").exit_code == 0
    p.write("accounts/models.py", USER.format(extra=FAVORITE))
    p.write("blog/models.py", POST.format(extra=AUTHOR))
    before = p.snapshot()
    r = p.gitmig("makemigrations", "--amend")
    assert r.exit_code == 2
    assert "without --amend" in r.stderr and len(r.stderr.splitlines()) == 1
    assert p.snapshot() == before


def test_apps_tables_moving_to_each_other_in_one_step_are_refused() -> None:
    from gitmig.errors import GitmigError
    from gitmig.migrations.autodetector import detect
    from gitmig.migrations.cycles import split_cycles
    from gitmig.migrations.questioner import Answers, Questioner
    from gitmig.schema.canonical import table_state
    from gitmig.schema.state import SchemaState

    def t(name: str, app: str) -> tuple[str, object]:
        table = sa.Table(name, sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True))
        return name, table_state(table, app=app)

    before = SchemaState(dict([t("a", "one"), t("b", "two")]))
    after = SchemaState(dict([t("a", "two"), t("b", "one")]))
    answers = Answers()
    answers.add_moves(["a=two", "b=one"])
    changes = detect(before, after, ["one", "two"], Questioner(answers))
    try:
        split_cycles(changes, after, ["one", "two"])
    except GitmigError as exc:
        assert exc.message.startswith("apps 'one' and 'two' move tables to each other")
    else:
        raise AssertionError("moves both ways were not refused")


def test_apps_move_and_a_new_foreign_key_to_the_moved_table(tmp_path: Path) -> None:
    """blog hands post to accounts and gains a table pointing at it: the key comes later."""
    p = cycle_project(tmp_path / "p", "sqlite:///db.sqlite3")
    url = f"sqlite:///{p.root / 'db.sqlite3'}"
    p.write("accounts/models.py", USER.format(extra=""))
    p.write("blog/models.py", POST.format(extra=""))
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    p.write("accounts/models.py", USER.format(extra="") + POST.format(extra="").split(
        "from core.db import Base", 1)[1])
    p.write("blog/models.py", """
import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column
from core.db import Base


class Comment(Base):
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"))
""")
    r = p.gitmig("makemigrations", "--move", "post=accounts")
    assert r.exit_code == 0, r.output
    handed = "0002_move_post_to_accounts_and_create_comment"
    assert p.migrations("blog") == ["0001_initial.py", f"{handed}.py",
                                    "0003_comment_add_fk_post_id.py"]
    assert p.migrations("accounts") == ["0001_initial.py", "0002_move_post_from_blog.py"]
    assert f'parents = ["0001_initial", "blog.{handed}"]' in p.read(
        "accounts/migrations/0002_move_post_from_blog.py")
    later = p.read("blog/migrations/0003_comment_add_fk_post_id.py")
    assert ('parents = ["0002_move_post_to_accounts_and_create_comment", '
            '"accounts.0002_move_post_from_blog"]') in later
    assert p.gitmig("migrate").exit_code == 0
    assert foreign_keys(url) == {"comment": ["post_id->post"], "post": [], "user_account": []}
    assert p.gitmig("makemigrations", "--check").exit_code == 0
