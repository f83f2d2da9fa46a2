"""Which app a table belongs to: the layouts real projects use for their models.

Each test writes a project the way teams do (re-exports from submodules, association
tables built in a loop, tables made by a function during the import), runs
makemigrations and migrate as a user would, and looks at the files and the database.
"""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from .conftest import BASE, Project


def created(text: str) -> list[str]:
    return sorted(re.findall(r'ops\.CreateTable\(\s*"(\w+)"', text))


def tables_in(project: Project) -> set[str]:
    engine = sa.create_engine(f"sqlite:///{project.root / 'db.sqlite3'}")
    try:
        return set(sa.inspect(engine).get_table_names()) - {"gitmig_migrations"}
    finally:
        engine.dispose()


def two_apps(p: Project, first: str = "accounts", second: str = "blog") -> None:
    p.write(
        "pyproject.toml",
        f"""
        [tool.gitmig]
        database = "sqlite:///db.sqlite3"
        [tool.gitmig.apps]
        {first} = "{first}.models"
        {second} = "{second}.models"
        """,
    )
    p.write(f"{first}/__init__.py", "")
    p.write(f"{second}/__init__.py", "")


def test_models_reexported_with_star_import_from_submodules(project: Project) -> None:
    project.write("blog/models.py", "from .base import Base\nfrom .recipe import *\n"
                  "from .tag import *\n")
    project.write("blog/base.py", BASE)
    project.write(
        "blog/recipe.py",
        """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from .base import Base

        __all__ = ["Recipe", "recipe_tag"]

        class Recipe(Base):
            __tablename__ = "recipe"
            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str] = mapped_column(sa.String(100))

        recipe_tag = sa.Table(
            "recipe_tag", Base.metadata,
            sa.Column("recipe_id", sa.ForeignKey("recipe.id"), primary_key=True),
            sa.Column("tag_id", sa.ForeignKey("tag.id"), primary_key=True),
        )
        """,
    )
    project.write(
        "blog/tag.py",
        """
        from sqlalchemy.orm import Mapped, mapped_column
        from .base import Base

        class Tag(Base):
            __tablename__ = "tag"
            id: Mapped[int] = mapped_column(primary_key=True)
        """,
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(project.read("blog/migrations/0001_initial.py")) == [
        "recipe", "recipe_tag", "tag"
    ]
    assert project.gitmig("migrate").exit_code == 0
    assert tables_in(project) == {"recipe", "recipe_tag", "tag"}
    assert project.gitmig("makemigrations", "--check").exit_code == 0


def test_models_association_tables_built_in_a_loop_and_kept_nowhere(project: Project) -> None:
    project.write(
        "blog/models.py",
        BASE
        + """
class Role(Base):
    __tablename__ = "role"
    id: Mapped[int] = mapped_column(primary_key=True)


for _name in ("user", "group"):
    sa.Table(
        f"{_name}_role_map", Base.metadata,
        sa.Column(f"{_name}_id", sa.Integer, primary_key=True),
        sa.Column("role_id", sa.ForeignKey("role.id"), primary_key=True),
    )
""",
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(project.read("blog/migrations/0001_initial.py")) == [
        "group_role_map", "role", "user_role_map"
    ]
    assert project.gitmig("migrate").exit_code == 0
    assert tables_in(project) == {"group_role_map", "role", "user_role_map"}


def test_models_tables_kept_in_a_list_or_made_by_a_function(project: Project) -> None:
    project.write(
        "blog/models.py",
        BASE
        + """
def audit_table(name):
    return sa.Table(f"{name}_audit", Base.metadata,
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("note", sa.Text))


AUDIT_TABLES = [audit_table(n) for n in ("post", "comment")]


def _register():
    audit_table("login")  # nothing keeps it but the MetaData


_register()
""",
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(project.read("blog/migrations/0001_initial.py")) == [
        "comment_audit", "login_audit", "post_audit"
    ]


def test_models_factory_in_a_shared_module_belongs_to_the_app_importing_it(
    tmp_path: Path,
) -> None:
    p = Project(tmp_path / "p")
    two_apps(p)
    p.write("core/__init__.py", "")
    p.write("core/db.py", BASE + """

def lookup(name):
    return sa.Table(name, Base.metadata, sa.Column("code", sa.String(10), primary_key=True))
""")
    p.write("accounts/models.py", "from core.db import lookup\nlookup('country')\n")
    p.write("blog/models.py", "from core.db import lookup\nlookup('category')\n")
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(p.read("accounts/migrations/0001_initial.py")) == ["country"]
    assert created(p.read("blog/migrations/0001_initial.py")) == ["category"]


def test_models_app_importing_an_app_configured_after_it(tmp_path: Path) -> None:
    """blog is imported first and imports accounts: accounts' tables stay accounts'."""
    p = Project(tmp_path / "p")
    two_apps(p, first="blog", second="accounts")
    p.write("core/__init__.py", "")
    p.write("core/db.py", BASE)
    p.write("accounts/models.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from core.db import Base

        class User(Base):
            __tablename__ = "user_account"
            id: Mapped[int] = mapped_column(primary_key=True)

        user_group = sa.Table("user_group", Base.metadata,
                              sa.Column("user_id", sa.ForeignKey("user_account.id")),
                              sa.Column("name", sa.String(20)))
        """)
    p.write("blog/models.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from core.db import Base
        from accounts.models import User, user_group

        class Post(Base):
            __tablename__ = "post"
            id: Mapped[int] = mapped_column(primary_key=True)
            author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
        """)
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(p.read("accounts/migrations/0001_initial.py")) == ["user_account", "user_group"]
    assert created(p.read("blog/migrations/0001_initial.py")) == ["post"]
    assert p.gitmig("migrate").exit_code == 0


def test_models_one_metadata_per_app_holds_tables_added_later(tmp_path: Path) -> None:
    """Each app its own MetaData: every table in it is that app's, however it got there."""
    p = Project(tmp_path / "p")
    two_apps(p)
    p.write("accounts/models.py", """
        import sqlalchemy as sa
        metadata = sa.MetaData()
        users = sa.Table("users", metadata, sa.Column("id", sa.Integer, primary_key=True))
        """)
    p.write("blog/models.py", """
        import sqlalchemy as sa
        import accounts.models
        metadata = sa.MetaData()
        posts = sa.Table("posts", metadata, sa.Column("id", sa.Integer, primary_key=True))
        """)
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert created(p.read("accounts/migrations/0001_initial.py")) == ["users"]
    assert created(p.read("blog/migrations/0001_initial.py")) == ["posts"]


def test_models_two_apps_claiming_one_table_is_an_error_naming_both(tmp_path: Path) -> None:
    p = Project(tmp_path / "p")
    two_apps(p)
    for app in ("accounts", "blog"):
        p.write(f"{app}/models.py", """
            import sqlalchemy as sa
            metadata = sa.MetaData()
            profile = sa.Table("profile", metadata, sa.Column("id", sa.Integer, primary_key=True))
            """)
    before = p.snapshot()
    r = p.gitmig("makemigrations")
    assert r.exit_code == 2
    assert r.stderr.startswith("gitmig: error: table profile is defined by app 'accounts' "
                               "and by app 'blog'")
    assert "Traceback" not in r.output
    assert p.snapshot() == before
