"""Every operation, applied and unapplied, on SQLite, PostgreSQL and MariaDB.

Each case is a project with two hand-written migrations: 0001 sets the scene (and rows
are inserted), 0002 holds the operation under test. `gitmig migrate` applies both,
`gitmig migrate blog 0001` unapplies the second. After each, the database must reflect
exactly as CREATE TABLE of the replayed schema state would make it (on a scratch
database of the same server), and the rows must be what the operation promises.
"""

from __future__ import annotations

import contextlib
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa

from gitmig.config import load_config
from gitmig.migrations.loader import load_graph
from gitmig.migrations.replay import Replayer
from gitmig.schema import materialize

from .conftest import MYSQL_URL, POSTGRES_URL, Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    reflected_schema,
    scratch_database,
)

Check = Callable[[sa.Connection], None]

AUTHOR = """
    ops.CreateTable(
        "author",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("nick", sa.String(length=20), nullable=True),
    ),
"""
BOOK = """
    ops.CreateTable(
        "book",
        sa.Column("id", sa.Integer(), primary_key=True, nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("pages", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),
        sa.UniqueConstraint("title", "author_id"),
        sa.CheckConstraint("pages > 0"),
        sa.Index("ix_book_pages", "pages"),
    ),
"""
ROWS = [
    "INSERT INTO author (id, name, nick) VALUES (1, 'ann', NULL), (2, 'bob', 'b')",
]
BOOK_ROWS = ROWS + [
    "INSERT INTO book (id, title, author_id, pages) VALUES (7, 'sea', 1, 10), (8, 'sky', 2, 20)",
]


def rows(conn: sa.Connection, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute(sa.text(sql)).all()]


def has_rows(sql: str, expected: list[tuple[Any, ...]]) -> Check:
    def check(conn: sa.Connection) -> None:
        assert rows(conn, sql) == expected

    return check


def no_check(conn: sa.Connection) -> None:
    pass


@dataclass
class Case:
    id: str
    setup: str
    change: str
    seed: list[str] = field(default_factory=list)
    forwards: Check = no_check
    backwards: Check = no_check
    header: str = ""


CASES = [
    Case(
        "create_table",
        AUTHOR,
        BOOK.replace(
            'sa.Column("pages", sa.Integer(), nullable=True),',
            'sa.Column("pages", sa.Integer(), nullable=True),\n'
            '        sa.Column("kind", sa.Enum("novel", "poem", name="book_kind"),'
            ' nullable=False, server_default="novel"),',
        ).replace("    ),\n", '        comment="books",\n    ),\n', 1),
        seed=ROWS,
        forwards=has_rows("SELECT id FROM book", []),
        backwards=has_rows("SELECT id, name FROM author ORDER BY id", [(1, "ann"), (2, "bob")]),
    ),
    Case(
        "drop_table",
        AUTHOR + BOOK,
        '    ops.DropTable("book"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id FROM author ORDER BY id", [(1,), (2,)]),
        backwards=has_rows("SELECT id FROM book", []),
    ),
    Case(
        "rename_table",
        AUTHOR + BOOK,
        '    ops.RenameTable("author", "writer"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, name FROM writer ORDER BY id", [(1, "ann"), (2, "bob")]),
        backwards=has_rows("SELECT id, name FROM author ORDER BY id", [(1, "ann"), (2, "bob")]),
    ),
    Case(
        "add_column_with_foreign_key",
        AUTHOR + BOOK,
        '    ops.AddColumn("book", sa.Column("editor_id", sa.Integer(),'
        ' sa.ForeignKey("author.id", ondelete="SET NULL"), nullable=True)),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, title, author_id, pages, editor_id FROM book ORDER BY id",
                          [(7, "sea", 1, 10, None), (8, "sky", 2, 20, None)]),
        backwards=has_rows("SELECT id, title, author_id, pages FROM book ORDER BY id",
                           [(7, "sea", 1, 10), (8, "sky", 2, 20)]),
    ),
    Case(
        "add_column_not_null_backfill",
        AUTHOR,
        '    ops.AddColumn("author", sa.Column("country", sa.String(length=2), nullable=False),'
        ' backfill="fr"),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, country FROM author ORDER BY id", [(1, "fr"), (2, "fr")]),
        backwards=has_rows("SELECT id, name, nick FROM author ORDER BY id",
                           [(1, "ann", None), (2, "bob", "b")]),
    ),
    Case(
        "add_column_enum_with_default",
        AUTHOR,
        '    ops.AddColumn("author", sa.Column("tier", sa.Enum("free", "paid", name="tier"),'
        ' nullable=False, server_default="free")),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, tier FROM author ORDER BY id", [(1, "free"), (2, "free")]),
    ),
    Case(
        "add_column_sql_default",
        AUTHOR,
        '    ops.AddColumn("author", sa.Column("joined", sa.DateTime(), nullable=False,'
        ' server_default=sa.text("CURRENT_TIMESTAMP"))),\n',
        seed=ROWS,
        forwards=has_rows("SELECT count(*) FROM author WHERE joined IS NOT NULL", [(2,)]),
    ),
    Case(
        "drop_column",
        AUTHOR + BOOK,
        '    ops.DropColumn("book", "author_id"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, title, pages FROM book ORDER BY id",
                          [(7, "sea", 10), (8, "sky", 20)]),
        backwards=has_rows("SELECT id, title, author_id FROM book ORDER BY id",
                           [(7, "sea", None), (8, "sky", None)]),
    ),
    Case(
        "alter_column_type",
        AUTHOR,
        '    ops.AlterColumn("author", "nick", type_=sa.Text()),\n'
        '    ops.AlterColumn("author", "id", type_=sa.BigInteger()),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, nick FROM author ORDER BY id", [(1, None), (2, "b")]),
        backwards=has_rows("SELECT id, nick FROM author ORDER BY id", [(1, None), (2, "b")]),
    ),
    Case(
        "alter_column_not_null_backfill",
        AUTHOR,
        '    ops.AlterColumn("author", "nick", nullable=False, backfill="anon"),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, nick FROM author ORDER BY id", [(1, "anon"), (2, "b")]),
        backwards=has_rows("SELECT id, nick FROM author ORDER BY id", [(1, "anon"), (2, "b")]),
    ),
    Case(
        "alter_column_default_and_comment",
        AUTHOR,
        '    ops.AlterColumn("author", "nick", server_default="x", comment="what friends say"),\n'
        '    ops.AlterColumn("author", "id", comment="the key"),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, nick FROM author ORDER BY id", [(1, None), (2, "b")]),
    ),
    Case(
        "rename_column",
        AUTHOR + BOOK,
        '    ops.RenameColumn("book", "author_id", "writer_id"),\n'
        '    ops.RenameColumn("author", "id", "author_no"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, writer_id FROM book ORDER BY id", [(7, 1), (8, 2)]),
        backwards=has_rows("SELECT id, author_id FROM book ORDER BY id", [(7, 1), (8, 2)]),
    ),
    Case(
        "create_and_drop_index",
        AUTHOR + BOOK,
        '    ops.CreateIndex("ix_author_name_nick", "author", ["name", "nick"], unique=True),\n'
        '    ops.DropIndex("ix_book_pages", "book"),\n',
        seed=BOOK_ROWS,
    ),
    Case(
        "add_constraints",
        AUTHOR
        + BOOK.replace('        sa.ForeignKeyConstraint(["author_id"], ["author.id"]),\n', "")
        .replace('        sa.UniqueConstraint("title", "author_id"),\n', "")
        .replace('        sa.CheckConstraint("pages > 0"),\n', ""),
        '    ops.AddConstraint("book", sa.ForeignKeyConstraint(["author_id"], ["author.id"],'
        ' ondelete="CASCADE")),\n'
        '    ops.AddConstraint("book", sa.UniqueConstraint("title", "author_id")),\n'
        '    ops.AddConstraint("book", sa.CheckConstraint("pages > 0")),\n'
        '    ops.AddConstraint("author", sa.UniqueConstraint("name", name="uq_author_name")),\n'
        '    ops.AddConstraint("author",'
        ' sa.CheckConstraint("name <> \'x\'", name="ck_author_name")),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, title FROM book ORDER BY id", [(7, "sea"), (8, "sky")]),
        backwards=has_rows("SELECT id, title FROM book ORDER BY id", [(7, "sea"), (8, "sky")]),
    ),
    Case(
        "drop_constraints",
        AUTHOR.replace('nullable=True),\n    ),', 'nullable=True),\n'
                       '        sa.UniqueConstraint("nick", name="uq_author_nick"),\n    ),')
        + BOOK,
        '    ops.DropConstraint("book", type_="foreignkey", columns=["author_id"]),\n'
        '    ops.DropConstraint("book", type_="unique", columns=["title", "author_id"]),\n'
        '    ops.DropConstraint("book", type_="check", sqltext="pages > 0"),\n'
        '    ops.DropConstraint("author", "uq_author_nick", type_="unique"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, title, author_id FROM book ORDER BY id",
                          [(7, "sea", 1), (8, "sky", 2)]),
        backwards=has_rows("SELECT id, title, author_id FROM book ORDER BY id",
                           [(7, "sea", 1), (8, "sky", 2)]),
    ),
    Case(
        # MariaDB backs the foreign key with the unique index that starts with its column,
        # and refuses to drop that index until the key has another one.
        "drop_unique_behind_foreign_key",
        AUTHOR + BOOK.replace('sa.UniqueConstraint("title", "author_id")',
                              'sa.UniqueConstraint("author_id", "title")')
        .replace('        sa.Index("ix_book_pages", "pages"),\n',
                 '        sa.Index("ix_book_author_pages", "author_id", "pages"),\n'),
        '    ops.DropConstraint("book", type_="unique", columns=["author_id", "title"]),\n'
        '    ops.DropIndex("ix_book_author_pages", "book"),\n',
        seed=BOOK_ROWS,
        forwards=has_rows("SELECT id, author_id FROM book ORDER BY id", [(7, 1), (8, 2)]),
    ),
    Case(
        "alter_table_comment",
        AUTHOR,
        '    ops.AlterTableComment("author", "people who write"),\n',
    ),
    Case(
        "run_sql",
        AUTHOR,
        '    ops.RunSQL(["INSERT INTO author (id, name) VALUES (3, \'c:at %s\')",'
        ' "UPDATE author SET nick = \'z\' WHERE id = 1"],'
        ' reverse_sql="DELETE FROM author WHERE id = 3"),\n',
        seed=ROWS,
        forwards=has_rows("SELECT id, name, nick FROM author ORDER BY id",
                          [(1, "ann", "z"), (2, "bob", "b"), (3, "c:at %s", None)]),
        backwards=has_rows("SELECT id FROM author ORDER BY id", [(1,), (2,)]),
    ),
    Case(
        "run_python",
        AUTHOR,
        "    ops.RunPython(shout, whisper),\n",
        header='''
def shout(conn):
    conn.execute(sa.text("UPDATE author SET name = upper(name)"))


def whisper(conn):
    conn.execute(sa.text("UPDATE author SET name = lower(name)"))
''',
        seed=ROWS,
        forwards=has_rows("SELECT name FROM author ORDER BY id", [("ANN",), ("BOB",)]),
        backwards=has_rows("SELECT name FROM author ORDER BY id", [("ann",), ("bob",)]),
    ),
    Case(
        "enum_values_change",
        AUTHOR.replace(
            'sa.Column("nick", sa.String(length=20), nullable=True),',
            'sa.Column("mood", sa.Enum("glad", "sad", name="mood"), nullable=True),',
        ),
        '    ops.AlterColumn("author", "mood",'
        ' type_=sa.Enum("glad", "sad", "calm", name="mood")),\n',
        seed=["INSERT INTO author (id, name, mood) VALUES (1, 'ann', 'sad')"],
        forwards=has_rows("SELECT id, mood FROM author", [(1, "sad")]),
        backwards=has_rows("SELECT id, mood FROM author", [(1, "sad")]),
    ),
]


MIGRATION = '''"""{doc}"""
import sqlalchemy as sa

from gitmig import ops
{header}
parents = {parents}
operations = [
{ops}]
'''


def write_migration(project: Project, name: str, parents: list[str], operations: str,
                    header: str = "") -> None:
    project.write(
        f"blog/migrations/{name}.py",
        MIGRATION.format(doc=name, header=textwrap.dedent(header), parents=parents,
                         ops=operations),
    )


def expected_schema(project: Project, upto: list[tuple[str, str]], scratch: str) -> dict[str, Any]:
    """What CREATE TABLE of the replayed state makes, on a scratch database."""
    config = load_config(project.root / "pyproject.toml")
    state = Replayer(load_graph(config)).state(upto)
    return create_all_schema(materialize.metadata(state), scratch)


@pytest.fixture(scope="module")
def scratch_urls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """One scratch database per server for the module; each comparison empties it again."""
    urls = {"sqlite": f"sqlite:///{tmp_path_factory.mktemp('scratch') / 'scratch.db'}"}
    with contextlib.ExitStack() as stack:
        if POSTGRES_URL:
            urls["postgresql"] = stack.enter_context(scratch_database(POSTGRES_URL))
        if MYSQL_URL:
            urls["mysql"] = stack.enter_context(scratch_database(MYSQL_URL))
        yield urls


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_operation_forwards_and_backwards(
    project: Project, database_url: str, scratch_urls: dict[str, str], case: Case
) -> None:
    backend = sa.engine.make_url(database_url).get_backend_name()
    scratch = scratch_urls[backend]
    write_migration(project, "0001_setup", [], case.setup)
    write_migration(project, "0002_change", ["0001_setup"], case.change, case.header)
    env = {"GITMIG_DATABASE_URL": database_url}

    first = project.gitmig("migrate", "blog", "0001", env=env)
    assert first.exit_code == 0, first.output
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            for sql in case.seed:
                conn.execute(sa.text(sql))

        forwards = project.gitmig("migrate", env=env)
        assert forwards.exit_code == 0, forwards.output
        assert forwards.stdout.splitlines()[-1].startswith("Applying blog.0002_change... OK (")
        expected = expected_schema(project, [("blog", "0001_setup"), ("blog", "0002_change")],
                                   scratch)
        assert_same_schema(reflected_schema(database_url), expected)
        with engine.connect() as conn:
            case.forwards(conn)

        backwards = project.gitmig("migrate", "blog", "0001", env=env)
        assert backwards.exit_code == 0, backwards.output
        assert backwards.stdout.splitlines()[-1].startswith(
            "Unapplying blog.0002_change... OK (")
        expected = expected_schema(project, [("blog", "0001_setup")], scratch)
        assert_same_schema(reflected_schema(database_url), expected)
        with engine.connect() as conn:
            case.backwards(conn)
            applied = rows(conn, "SELECT app, name FROM gitmig_migrations")
        assert applied == [("blog", "0001_setup")]
    finally:
        engine.dispose()



def test_portable_server_defaults_are_spelled_by_each_database(
    project: Any, database_url: str
) -> None:
    """sa.func.now() and sa.true() are written as expressions, not as one dialect's SQL,
    so rows inserted after migrate get the database's own CURRENT_TIMESTAMP and true."""
    project.write(
        "blog/models.py",
        BASE_FOR_DEFAULTS,
    )
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    text = project.read("blog/migrations/0001_initial.py")
    assert "server_default=sa.func.now()" in text
    assert "server_default=sa.true()" in text
    r = project.gitmig("migrate", "--database", database_url)
    assert r.exit_code == 0, r.output
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO event (id) VALUES (1)"))
            row = conn.execute(sa.text("SELECT created, active FROM event")).one()
        assert row[0] is not None
        assert bool(row[1]) is True
    finally:
        engine.dispose()


BASE_FOR_DEFAULTS = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Event(Base):
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(primary_key=True)
    created = mapped_column(sa.DateTime(), server_default=sa.func.now(), nullable=False)
    active = mapped_column(sa.Boolean(), server_default=sa.true(), nullable=False)
"""
