"""Foreign keys as real schemas write them, and the checks that column types create.

Idioms: a DEFERRABLE INITIALLY DEFERRED key (insert parent and child in any order within
a transaction), a composite key onto a composite unique constraint with MATCH FULL, two
tables that reference each other (`use_alter=True`), `UNIQUE NULLS NOT DISTINCT` on
PostgreSQL, and `Boolean(create_constraint=True)` / non-native `Enum` checks.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .constraint_story import story

PARENT = BASE + '''

class Parent(Base):
    __tablename__ = "parent"
    __table_args__ = (sa.UniqueConstraint("a", "b", name="uq_parent_a_b"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[int]
    b: Mapped[int]


class Child(Base):
    __tablename__ = "child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None]
    pa: Mapped[int | None]
    pb: Mapped[int | None]
'''

KEYED = PARENT.replace(
    "    parent_id: Mapped[int | None]\n",
    '    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey(\n'
    '        "parent.id", name="fk_child_parent", deferrable=True, initially="DEFERRED"))\n',
).replace(
    '    __tablename__ = "child"\n',
    '    __tablename__ = "child"\n'
    '    __table_args__ = (sa.ForeignKeyConstraint(\n'
    '        ["pa", "pb"], ["parent.a", "parent.b"], name="fk_child_pair", match="FULL",\n'
    '        ondelete="CASCADE"),)\n',
)

REKEYED = KEYED.replace('initially="DEFERRED"', 'initially="IMMEDIATE"').replace(
    'match="FULL",', ""
)


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO parent (id, a, b) VALUES (1, 1, 1)"))
    conn.execute(sa.text("INSERT INTO child (id, parent_id, pa, pb) VALUES (1, 1, 1, 1)"))


def test_foreign_key_options_added_changed_removed(project: Project, database_url: str) -> None:
    keyed, rekeyed = KEYED, REKEYED
    mysql = database_url.startswith("mysql")
    if mysql:  # MySQL has no MATCH nor DEFERRABLE: create_all fails on them too
        keyed = keyed.replace('match="FULL",', "").replace(
            'deferrable=True, initially="DEFERRED"', 'onupdate="CASCADE"')
        rekeyed = rekeyed.replace(
            'deferrable=True, initially="IMMEDIATE"', 'onupdate="SET NULL"')
    texts = story(project, database_url, [PARENT, keyed, rekeyed, PARENT], after={0: _rows})
    if not mysql:
        assert "deferrable=True," in texts[1] and 'initially="DEFERRED"' in texts[1]
        assert 'initially="IMMEDIATE"' in texts[2]


CLUB = BASE + '''

class Club(Base):
    __tablename__ = "club"
    id: Mapped[int] = mapped_column(primary_key=True)
'''

CYCLE = CLUB + '''

class Team(Base):
    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    captain_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("player.id", name="fk_team_captain", use_alter=True))


class Player(Base):
    __tablename__ = "player"
    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int | None] = mapped_column(sa.ForeignKey("team.id"))
'''


def test_tables_that_reference_each_other(project: Project, database_url: str) -> None:
    texts = story(project, database_url, [CLUB, CYCLE, CLUB])
    assert "ops.AddConstraint(" in texts[1]  # the cycle is closed once both tables exist


CHECKS = BASE + '''
import enum


class Size(enum.Enum):
    small = "small"
    large = "large"


class Shirt(Base):
    __tablename__ = "shirt"
    id: Mapped[int] = mapped_column(primary_key=True)
'''

CHECKED = CHECKS + '''    folded: Mapped[bool] = mapped_column(
        sa.Boolean(create_constraint=True, name="ck_shirt_folded"), server_default=sa.false())
    size: Mapped[Size | None] = mapped_column(
        sa.Enum(Size, native_enum=False, create_constraint=True, name="ck_shirt_size"))
'''


def test_checks_of_boolean_and_non_native_enum(project: Project, database_url: str) -> None:
    def rows(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("INSERT INTO shirt (id) VALUES (1)"))

    story(project, database_url, [CHECKS, CHECKED, CHECKS], after={0: rows})


NULLS = BASE + '''

class Seat(Base):
    __tablename__ = "seat"
    id: Mapped[int] = mapped_column(primary_key=True)
    row: Mapped[int | None]
'''

NULLS_NOT_DISTINCT = NULLS.replace(
    '    __tablename__ = "seat"\n',
    '    __tablename__ = "seat"\n'
    '    __table_args__ = (sa.UniqueConstraint("row", name="uq_seat_row",\n'
    '                                          postgresql_nulls_not_distinct=True),)\n',
)


def test_unique_nulls_not_distinct(project: Project, database_url: str) -> None:
    texts = story(project, database_url, [NULLS, NULLS_NOT_DISTINCT, NULLS])
    assert "postgresql_nulls_not_distinct=True" in texts[1]
