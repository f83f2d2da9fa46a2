"""A table's own settings: MySQL engine and character set, SQLite AUTOINCREMENT and
WITHOUT ROWID, comments, and the schema it lives in (PostgreSQL).

Idioms: `__table_args__ = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}` (what
the Flask and MySQL tutorials tell teams to write), `sqlite_autoincrement=True` for ids
that are never reused, and tables split into PostgreSQL schemas, with an enum there too.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .constraint_story import story

NOTE = BASE + '''

class Note(Base):
    __tablename__ = "note"
    __table_args__ = {args}
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str] = mapped_column(sa.String(50))
'''

PLAIN = NOTE.format(args="{}")
OPTIONS = NOTE.format(args="""{
        "mysql_engine": "MyISAM", "mysql_charset": "utf8mb4",
        "mysql_collate": "utf8mb4_bin", "sqlite_autoincrement": True, "comment": "notes",
    }""")
CHANGED = NOTE.format(args="""{
        "mysql_charset": "latin1", "sqlite_with_rowid": False, "comment": "jottings",
    }""")


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO note (id, body) VALUES (1, 'one'), (2, 'two')"))


def _rows_kept(conn: sa.engine.Connection) -> None:
    bodies = conn.execute(sa.text("SELECT body FROM note ORDER BY id")).scalars().all()
    assert bodies == ["one", "two"]


def test_table_options_added_changed_removed(project: Project, database_url: str) -> None:
    texts = story(project, database_url, [PLAIN, OPTIONS, CHANGED, PLAIN],
                  after={0: _rows, 1: _rows_kept, 2: _rows_kept, 3: _rows_kept})
    assert 'ops.AlterTableOptions("note", mysql_charset="utf8mb4"' in " ".join(
        texts[1].split()).replace("( ", "(")
    assert "sqlite_with_rowid=False" in texts[2]


SCHEMAS = BASE + '''
import enum


class Level(enum.Enum):
    low = "low"
    high = "high"


class Sensor(Base):
    __tablename__ = "sensor"
    __table_args__ = {{"schema": {schema}}}
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[Level] = mapped_column(sa.Enum(Level, name="level", schema="telemetry"))


class Reading(Base):
    __tablename__ = "reading"
    __table_args__ = {{"schema": "telemetry"}}
    id: Mapped[int] = mapped_column(primary_key=True)
    sensor_id: Mapped[int] = mapped_column(sa.ForeignKey({target}))
'''

IN_PUBLIC = SCHEMAS.format(schema="None", target='"sensor.id"')
IN_TELEMETRY = SCHEMAS.format(schema='"telemetry"', target='"telemetry.sensor.id"')
MORE_LEVELS = IN_TELEMETRY.replace('    high = "high"\n', '    high = "high"\n    max = "max"\n')


def test_tables_and_enums_in_another_schema(project: Project, postgres_url: str) -> None:
    def rows(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("INSERT INTO sensor (id, level) VALUES (1, 'low')"))

    def rows_kept(conn: sa.engine.Connection) -> None:
        levels = conn.execute(sa.text("SELECT level FROM telemetry.sensor")).scalars().all()
        assert levels == ["low"]

    texts = story(project, postgres_url, [IN_PUBLIC, IN_TELEMETRY, MORE_LEVELS],
                  after={0: rows, 1: rows_kept, 2: rows_kept},
                  setup=["CREATE SCHEMA telemetry"], schemas=["telemetry"])
    assert 'ops.SetTableSchema("sensor", None, "telemetry")' in texts[1]
    assert 'ops.AlterEnum("level", ["low", "high", "max"], schema="telemetry")' in texts[2]


def test_postgresql_table_option_change_is_refused_with_what_to_do(project: Project) -> None:
    project.write("blog/models.py", NOTE.format(args="{}"))
    assert project.gitmig("makemigrations").exit_code == 0
    project.write("blog/models.py", NOTE.format(args='{"postgresql_partition_by": "RANGE (id)"}'))
    before = project.snapshot()
    result = project.gitmig("makemigrations", "--no-input")
    assert result.exit_code == 2, result.output
    assert project.snapshot() == before
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (
        "gitmig: error: table note: gitmig cannot change postgresql_partition_by of an "
        "existing table; write that change with ops.RunSQL in a migration from "
        "`gitmig makemigrations --empty`, and keep the option in the models"
    )
    assert "Traceback" not in result.output
