"""Every kind of index SQLAlchemy can declare, added to a table with rows, changed, removed.

Idioms: `sa.func.lower(col)` for case-insensitive lookups, partial indexes
(`postgresql_where`, `sqlite_where`) for "active rows only", `postgresql_using`,
operator classes for LIKE prefix searches, covering indexes (`postgresql_include`),
`mysql_length` on long strings, `mysql_prefix="FULLTEXT"` for word search, descending
columns for "newest first", and a unique index next to a unique constraint. Compared
with create_all through reflection and through each database's own description of its
indexes.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .constraint_story import story

TABLE = BASE + '''

class Member(Base):
    __tablename__ = "member"
    id: Mapped[int] = mapped_column(primary_key=True)
    nick: Mapped[str] = mapped_column(sa.String(100))
    email: Mapped[str] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    joined: Mapped[int] = mapped_column(server_default="0")
'''

INDEXES = '''
t = Member.__table__
sa.Index("ix_member_joined_desc", t.c.joined.desc())
sa.Index("ix_member_email_active", t.c.email, unique=True,
         postgresql_where=t.c.joined > {cutoff}, sqlite_where=t.c.joined > {cutoff})
sa.Index("ix_member_nick_prefix", t.c.nick, mysql_length=10,
         postgresql_ops={{"nick": "text_pattern_ops"}})
sa.Index("ix_member_joined_cover", t.c.joined, postgresql_include=["nick"],
         postgresql_using="btree")
sa.UniqueConstraint(t.c.nick, name="uq_member_nick")
sa.Index("uix_member_nick_email", t.c.nick, t.c.email, unique=True, mysql_length={{"email": 20}})
sa.Index("ix_member_email_words", t.c.email, mysql_prefix="FULLTEXT")
'''

EXPRESSION = '''
sa.Index("ix_member_lower_nick", sa.func.lower(t.c.nick))
'''


def _versions(url: str) -> list[str]:
    # MariaDB has no expression indexes: create_all itself cannot make one there.
    expression = "" if url.startswith("mysql") else EXPRESSION
    with_indexes = TABLE + INDEXES.format(cutoff=0) + expression
    changed = TABLE + INDEXES.format(cutoff=10).replace(
        't.c.joined.desc()', 't.c.joined.desc(), t.c.id'
    ) + expression.replace("lower", "upper")
    return [TABLE, with_indexes, changed, TABLE]


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text(
        "INSERT INTO member (nick, email) VALUES ('Ann', 'a@x'), ('Bob', 'b@x')"
    ))


def _rows_kept(conn: sa.engine.Connection) -> None:
    nicks = conn.execute(sa.text("SELECT nick FROM member ORDER BY id")).scalars().all()
    assert nicks == ["Ann", "Bob"]


def test_index_kinds_added_changed_removed(project: Project, database_url: str) -> None:
    texts = story(project, database_url, _versions(database_url),
                  after={0: _rows, 1: _rows_kept, 2: _rows_kept})
    added = texts[1]
    assert 'postgresql_where=sa.text("joined > 0")' in added
    assert '[sa.text("joined DESC")]' in added
    assert 'mysql_length={"email": 20}' in added
    assert 'postgresql_ops={"nick": "text_pattern_ops"}' in added
    assert 'mysql_prefix="FULLTEXT"' in added


UNIQUE_CONSTRAINT = TABLE.replace(
    '    __tablename__ = "member"\n',
    '    __tablename__ = "member"\n'
    '    __table_args__ = (sa.UniqueConstraint("email", name="uq_member_email"),)\n',
)
UNIQUE_INDEX = TABLE.replace(
    '    __tablename__ = "member"\n',
    '    __tablename__ = "member"\n'
    '    __table_args__ = (sa.Index("uq_member_email", "email", unique=True),)\n',
)


def test_unique_constraint_becomes_unique_index_and_back(
    project: Project, database_url: str
) -> None:
    texts = story(project, database_url, [UNIQUE_CONSTRAINT, UNIQUE_INDEX, UNIQUE_CONSTRAINT],
                  after={0: _rows, 1: _rows_kept, 2: _rows_kept})
    assert 'ops.DropConstraint("member", "uq_member_email", type_="unique")' in texts[1]
    assert 'ops.CreateIndex("uq_member_email", "member", ["email"], unique=True)' in texts[1]
