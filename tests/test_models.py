"""Reading the user's models: the styles people write, and models that fail to import."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import BASE, Project


def _two_apps(p: Project) -> None:
    p.write(
        "pyproject.toml",
        """
        [tool.gitmig]
        database = "sqlite:///db.sqlite3"
        [tool.gitmig.apps]
        accounts = "accounts.models"
        blog = "blog.models"
        """,
    )
    p.write("accounts/__init__.py", "")
    p.write("blog/__init__.py", "")


def created(text: str) -> list[str]:
    return re.findall(r'ops\.CreateTable\(\s*"(\w+)"', text)


def test_shared_base_tables_belong_to_the_module_that_defines_them(tmp_path: Path) -> None:
    p = Project(tmp_path / "p")
    _two_apps(p)
    p.write("core/__init__.py", "")
    p.write("core/db.py", BASE)
    p.write(
        "accounts/models.py",
        """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from core.db import Base

        class User(Base):
            __tablename__ = "user_account"
            id: Mapped[int] = mapped_column(primary_key=True)
        """,
    )
    p.write(
        "blog/models.py",
        """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from core.db import Base
        from accounts.models import User  # imported, still accounts' table

        class Post(Base):
            __tablename__ = "post"
            id: Mapped[int] = mapped_column(primary_key=True)

        post_tag = sa.Table(
            "post_tag",
            Base.metadata,
            sa.Column("post_id", sa.ForeignKey("post.id"), primary_key=True),
            sa.Column("tag", sa.String(30), primary_key=True),
        )
        """,
    )
    r = p.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    accounts = p.read("accounts/migrations/0001_initial.py")
    blog = p.read("blog/migrations/0001_initial.py")
    assert created(accounts) == ["user_account"]
    assert created(blog) == ["post", "post_tag"]
    assert "user_account" not in blog


def test_models_package_split_in_files(project: Project) -> None:
    project.write("blog/models/__init__.py", "from .base import Base\nfrom .post import Post\n")
    (project.root / "blog/models.py").unlink()
    project.write("blog/models/base.py", BASE)
    project.write(
        "blog/models/post.py",
        """
        from sqlalchemy.orm import Mapped, mapped_column
        from .base import Base

        class Post(Base):
            __tablename__ = "post"
            id: Mapped[int] = mapped_column(primary_key=True)
        """,
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert "+ Create table post" in r.stdout


def test_flask_sqlalchemy_models(project: Project) -> None:
    project.write(
        "blog/models.py",
        """
        from flask_sqlalchemy import SQLAlchemy

        db = SQLAlchemy()

        class Author(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            name = db.Column(db.String(80), nullable=False)

        class BlogPost(db.Model):
            id = db.Column(db.Integer, primary_key=True)
            author_id = db.Column(db.Integer, db.ForeignKey("author.id"))
        """,
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    text = project.read("blog/migrations/0001_initial.py")
    assert '"author"' in text and '"blog_post"' in text
    assert 'sa.ForeignKeyConstraint(["author_id"], ["author.id"])' in text
    assert project.gitmig("makemigrations", "--check").exit_code == 0


def _run(p: Project, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "gitmig", *args], cwd=p.root, capture_output=True, text=True,
        env=env,
    )


@pytest.mark.slow
def test_sqlmodel_models(project: Project) -> None:
    # SQLModel keeps one global MetaData, so each run gets a process of its own.
    project.write(
        "blog/models.py",
        """
        from sqlmodel import Field, SQLModel

        class Team(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            name: str = Field(index=True)

        class Hero(SQLModel, table=True):
            id: int | None = Field(default=None, primary_key=True)
            team_id: int | None = Field(default=None, foreign_key="team.id")
        """,
    )
    r = _run(project, "makemigrations")
    assert r.returncode == 0, r.stderr
    text = project.read("blog/migrations/0001_initial.py")
    # AutoString is VARCHAR without a length, except on MySQL and MariaDB (VARCHAR(255))
    assert (
        'sa.Column(\n            "name",\n'
        '            sa.String().with_variant(sa.String(length=255), "mariadb", "mysql"),\n'
    ) in text
    assert "sqlmodel" not in text
    assert 'sa.Index("ix_team_name", "name")' in text
    r = _run(project, "makemigrations", "--check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_models_that_raise_on_import(project: Project) -> None:
    project.write("blog/models.py", BASE + "\nraise RuntimeError('no settings')\n")
    before = project.snapshot()
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"gitmig: error: {project.root / 'blog' / 'models.py'}:8: ")
    assert "cannot import models of app 'blog': RuntimeError: no settings" in lines[0]
    assert project.snapshot() == before


def test_models_with_a_syntax_error(project: Project) -> None:
    project.write("blog/models.py", BASE + "\nclass Broken(\n")
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    assert "syntax error" in r.stderr
    assert "models.py:" in r.stderr
    assert "Traceback" not in r.output


def test_models_module_missing(project: Project) -> None:
    (project.root / "blog/models.py").unlink()
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    assert r.stderr == (
        "gitmig: error: cannot import models of app 'blog': no module named 'blog.models'; "
        "check [tool.gitmig.apps] (paths are relative to pyproject.toml)\n"
    )


def test_models_importing_a_missing_package(project: Project) -> None:
    project.write("blog/models.py", "import notinstalled_pkg\n")
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    assert "ModuleNotFoundError: No module named 'notinstalled_pkg'" in r.stderr


def test_two_projects_in_one_process_do_not_share_a_base_module(tmp_path: Path) -> None:
    for n, table in enumerate(["first", "second"]):
        p = Project(tmp_path / f"p{n}")
        _two_apps(p)
        p.write("core/__init__.py", "")
        p.write("core/db.py", BASE)
        p.write("accounts/models.py", "")
        p.write(
            "blog/models.py",
            f"""
            from sqlalchemy.orm import Mapped, mapped_column
            from core.db import Base

            class T(Base):
                __tablename__ = "{table}"
                id: Mapped[int] = mapped_column(primary_key=True)
            """,
        )
        r = p.gitmig("makemigrations")
        assert r.exit_code == 0, r.output
        assert created(p.read("blog/migrations/0001_initial.py")) == [table]
