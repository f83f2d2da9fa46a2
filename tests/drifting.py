"""Helpers for the drift, fake-initial and adopt tests: a project on any database, and
changes made by hand as a person would (Alembic's operations, batch mode on SQLite)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from .conftest import Project

MODELS = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (sa.CheckConstraint("score >= 0", name="ck_post_score"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), index=True)
    body: Mapped[str | None] = mapped_column(sa.Text)
    summary: Mapped[str | None] = mapped_column(sa.String(100))
    slug: Mapped[str | None] = mapped_column(sa.String(50))
    score: Mapped[int] = mapped_column(server_default="0")
"""

ENUM_MODELS = MODELS + """
    mood: Mapped[str | None] = mapped_column(sa.Enum("happy", "ok", name="mood"))
"""


def make_project(root: Path, url: str, models: str = MODELS) -> Project:
    p = Project(root)
    p.write("pyproject.toml", f"""
        [project]
        name = "proj"

        [tool.gitmig]
        database = "{url}"

        [tool.gitmig.apps]
        blog = "blog.models"
        """)
    p.write("blog/__init__.py", "")
    p.write("blog/models.py", models)
    return p


@contextmanager
def by_hand(url: str) -> Iterator[Any]:
    """Alembic's operations on the database at `url`, committed at the end."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            yield Operations(MigrationContext.configure(connection=conn))
    finally:
        engine.dispose()


def alter(url: str, table: str, change: Callable[[Any], None]) -> None:
    """One change to one table, as batch mode makes it on SQLite (a rebuild) and as a
    plain ALTER elsewhere."""
    with by_hand(url) as op, op.batch_alter_table(table, recreate="auto") as batch:
        change(batch)


def execute(url: str, sql: str) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool,
                              isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(sql))
    finally:
        engine.dispose()
