"""An enum through its life: values added, removed, shared by two tables, then dropped.

The idiom: a Python `enum.Enum` class mapped with `sa.Enum(Mood, name="mood")` on several
tables. On PostgreSQL that is one type; gitmig changes it once for all its columns, adds
values with ALTER TYPE ... ADD VALUE (no rewrite), swaps in a new type when values go,
keeps the rows, and `migrate zero` leaves no type behind. MySQL and SQLite change each
column.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .constraint_story import story

MODELS = BASE + '''
import enum


class Mood(enum.Enum):
{values}


class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    mood: Mapped[Mood] = mapped_column(sa.Enum(Mood, name="mood"))
    moods: Mapped[Mood | None] = mapped_column(sa.Enum(Mood, name="mood"), server_default="ok")
'''

PET = '''

class Pet(Base):
    __tablename__ = "pet"
    id: Mapped[int] = mapped_column(primary_key=True)
    mood: Mapped[Mood | None] = mapped_column(sa.Enum(Mood, name="mood"))
'''


def _models(*values: str, pet: bool = True) -> str:
    body = "\n".join(f'    {v} = "{v}"' for v in values)
    return MODELS.format(values=body) + (PET if pet else "")


V1 = _models("sad", "ok")
ADDED = _models("meh", "sad", "ok", "good", "happy")
REMOVED = _models("meh", "ok", "good", "happy")
PET_GONE = _models("meh", "ok", "good", "happy", pet=False)


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO person (id, mood) VALUES (1, 'sad'), (2, 'ok')"))
    conn.execute(sa.text("INSERT INTO pet (id, mood) VALUES (1, 'ok')"))


def _use_new_values(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO person (id, mood) VALUES (3, 'happy'), (4, 'meh')"))
    conn.execute(sa.text("DELETE FROM person WHERE mood = 'sad'"))


def _rows_kept(conn: sa.engine.Connection) -> None:
    moods = conn.execute(sa.text("SELECT mood FROM person ORDER BY id")).scalars().all()
    assert moods == ["ok", "happy", "meh"]
    assert conn.execute(sa.text("SELECT mood FROM pet")).scalars().all() == ["ok"]


def _forget(conn: sa.engine.Connection) -> None:
    """Going back to fewer values needs rows that hold none of the removed ones."""
    conn.execute(sa.text("DELETE FROM person"))


def test_enum_values_added_removed_shared(project: Project, database_url: str) -> None:
    texts = story(project, database_url, [V1, ADDED, REMOVED, PET_GONE],
                  after={0: _rows, 1: _use_new_values, 2: _rows_kept, 3: _forget})
    for text in texts[1:3]:
        assert text.count("    ops.") == 1, text  # one operation, no column altered
    assert 'ops.AlterEnum("mood", ["meh", "sad", "ok", "good", "happy"])' in texts[1]
    assert 'ops.AlterEnum("mood", ["meh", "ok", "good", "happy"])' in texts[2]


def test_added_values_are_added_in_place_on_postgresql(project: Project) -> None:
    project.write("blog/models.py", V1)
    assert project.gitmig("makemigrations").exit_code == 0
    project.write("blog/models.py", ADDED)
    assert project.gitmig("makemigrations").exit_code == 0
    sql = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "postgresql")
    assert sql.exit_code == 0, sql.output
    assert "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'sad'" in sql.stdout
    assert "ALTER TYPE mood ADD VALUE 'happy' AFTER 'good'" in sql.stdout
    assert "DROP TYPE" not in sql.stdout
    back = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "postgresql",
                          "--backwards")
    assert "ALTER TYPE mood RENAME TO mood__gitmig_old" in back.stdout
    assert "USING mood::text::mood" in back.stdout


TICKET = BASE + '''

class Ticket(Base):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.Enum("open", "shut", name="ticket_state"))
'''
TICKET_WON = TICKET.replace('"open", "shut"', '"open", "shut", "won"') + '''\
    result: Mapped[str] = mapped_column(
        sa.Enum("open", "shut", "won", name="ticket_state"), server_default="won")
'''


def test_a_new_value_used_as_a_default_in_the_same_migration(
    project: Project, database_url: str
) -> None:
    """PostgreSQL cannot use a value ADD VALUE added before the transaction commits, so
    such a change swaps in a new type instead; rows kept."""

    def rows(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("INSERT INTO ticket (id, state) VALUES (1, 'shut')"))

    texts = story(project, database_url, [TICKET, TICKET_WON], after={0: rows})
    assert "in_place=False" in texts[1]
