"""Models that fail to import: the error names the user's file and line, never SQLAlchemy's."""

from __future__ import annotations

from .conftest import Project


def test_models_mapping_error_raised_inside_sqlalchemy_names_the_class_line(
    project: Project,
) -> None:
    project.write("blog/models.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Note(Base):
            __tablename__ = "note"
            body: Mapped[str] = mapped_column(sa.Text)
        """)
    before = project.snapshot()
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    lines = r.stderr.splitlines()
    assert len(lines) == 1, r.stderr
    path = str(project.root / "blog" / "models.py")
    assert lines[0].startswith(f"gitmig: error: {path}:7: cannot import models of app 'blog': ")
    assert "primary key" in lines[0]
    assert "site-packages" not in r.stderr and "Traceback" not in r.output
    assert project.snapshot() == before


def test_models_error_in_a_submodule_names_that_submodule(project: Project) -> None:
    project.write("blog/models/__init__.py", "from .base import Base\nfrom .post import *\n")
    project.write("blog/models/base.py", """
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass
        """)
    project.write("blog/models/post.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import Mapped, mapped_column
        from .base import Base

        class Post(Base):
            __tablename__ = "post"
            id: Mapped[int] = mapped_column(primary_key=True)
            __table_args__ = (sa.UniqueConstraint("slug"),)  # no such column
        """)
    project.root.joinpath("blog/models.py").unlink()
    r = project.gitmig("makemigrations")
    assert r.exit_code == 2
    path = str(project.root / "blog" / "models" / "post.py")
    assert r.stderr.startswith(f"gitmig: error: {path}:5: cannot import models of app 'blog'")
    assert len(r.stderr.splitlines()) == 1
    assert "slug" in r.stderr
