"""A naming convention added to an existing project, then changed: everything is renamed.

The idiom: `MetaData(naming_convention={...})` on the declarative Base, adopted once a
project has tables (Alembic's documentation recommends it, so many teams add it late).
Every primary key, unique, check, foreign key and index gets a new name; gitmig renames
them in place (a rebuild on SQLite) and keeps the rows.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import Project
from .constraint_story import story

HEAD = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

CONVENTION = {convention}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=CONVENTION)
"""

BODY = '''

class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(100), unique=True)
    nick: Mapped[str] = mapped_column(sa.String(30), index=True)


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (
        sa.CheckConstraint("words >= 0", name="words_positive"),
        sa.UniqueConstraint("author_id", "title"),
        sa.Index("by_title", "title"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(sa.String(100))
    words: Mapped[int] = mapped_column(server_default="0")
'''

NO_CONVENTION = HEAD.format(convention='{"ix": "ix_%(column_0_label)s"}') + BODY

CONVENTION = HEAD.format(convention="""{
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}""") + BODY

CHANGED = HEAD.format(convention="""{
    "ix": "idx_%(table_name)s_%(column_0_name)s",
    "uq": "%(table_name)s_%(column_0_N_name)s_uniq",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_name)s_fk",
    "pk": "%(table_name)s_pk",
}""") + BODY


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO author (id, email, nick) VALUES (1, 'a@x', 'a')"))
    conn.execute(sa.text("INSERT INTO post (author_id, title) VALUES (1, 'hello')"))


def _rows_kept(conn: sa.engine.Connection) -> None:
    titles = conn.execute(sa.text("SELECT title FROM post")).scalars().all()
    assert titles == ["hello"]
    conn.execute(sa.text("DELETE FROM post"))
    conn.execute(sa.text("DELETE FROM author"))


def test_convention_added_then_changed(project: Project, database_url: str) -> None:
    texts = story(project, database_url, [NO_CONVENTION, CONVENTION, CHANGED],
                  after={0: _rows, 2: _rows_kept})
    added = texts[1]
    assert 'ops.RenameConstraint("author", None, "pk_author", type_="primary")' in added
    assert ('ops.RenameConstraint("author", None, "uq_author_email", type_="unique", '
            'columns=["email"])') in added
    assert ('ops.RenameConstraint("post", "words_positive", "ck_post_words_positive", '
            'type_="check")') in added
    assert "fk_post_author_id_author" in added
    assert "DropConstraint" not in added and "AddConstraint" not in added
    changed = texts[2]
    assert 'ops.RenameIndex("author", "ix_author_nick", "idx_author_nick")' in changed
    assert "post_author_id_title_uniq" in changed
    assert "DropIndex" not in changed and "CreateIndex" not in changed


def test_convention_dropped_again(project: Project, database_url: str) -> None:
    """Names the convention gave go back to those the database chooses."""
    texts = story(project, database_url, [CONVENTION, NO_CONVENTION], after={0: _rows})
    assert 'ops.RenameConstraint("author", "pk_author", None, type_="primary")' in texts[1]
    assert "DropConstraint" not in texts[1] and "AddConstraint" not in texts[1]
