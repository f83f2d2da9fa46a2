"""Type source text is canonical: rebuilding a type from its text gives the same text.

Models and replayed migrations are compared by this text, so a type whose text changed
on the way through a migration file would be a change that never goes away; and a file
written before variants were understood must still load and replay as it did.
"""

from __future__ import annotations

import enum

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.types import CHAR, TypeDecorator

from gitmig.schema import stateio
from gitmig.schema.canonical import table_state
from gitmig.schema.materialize import type_of
from gitmig.schema.state import SchemaState
from gitmig.schema.typesource import type_source

from .conftest import BASE, Project
from .test_types_dialects import GUID, migrate_and_compare


class Guid(TypeDecorator[str]):
    impl = CHAR
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[str]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID())  # type: ignore[return-value]
        return dialect.type_descriptor(CHAR(32))


class JsonB(TypeDecorator[object]):
    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[object]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


class Aware(TypeDecorator[object]):
    """Decorators that store the same type everywhere are written as that one type."""

    impl = sa.DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: sa.engine.Dialect) -> sa.types.TypeEngine[object]:
        return dialect.type_descriptor(sa.DateTime(timezone=True))


class Color(enum.Enum):
    red = "r"


TYPES = {
    "guid recipe": (Guid(), 'sa.CHAR(length=32).with_variant(sa.Uuid(), "postgresql")'),
    "jsonb decorator": (
        JsonB(),
        'sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")',
    ),
    "same everywhere": (Aware(), "sa.DateTime(timezone=True)"),
    "sqlite json variant": (sa.JSON().with_variant(sqlite.JSON(), "sqlite"),
                            'sa.JSON().with_variant(sqlite.JSON(), "sqlite")'),
    "bigint variant": (sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                       'sa.BigInteger().with_variant(sa.Integer(), "sqlite")'),
    "variant equal to base": (sa.Integer().with_variant(sa.Integer(), "sqlite"), "sa.Integer()"),
    "mysql only variant": (sa.Float().with_variant(mysql.DOUBLE(), "mysql"),
                           'sa.Float().with_variant(mysql.DOUBLE(asdecimal=True), "mysql")'),
    "array of decorator": (
        postgresql.ARRAY(Guid()),
        'postgresql.ARRAY(sa.CHAR(length=32)).with_variant(postgresql.ARRAY(sa.Uuid()), '
        '"postgresql")',
    ),
    "array of enum": (postgresql.ARRAY(postgresql.ENUM("a", name="e")),
                      'postgresql.ARRAY(postgresql.ENUM("a", name="e"))'),
    "interval": (sa.Interval(native=False, second_precision=2),
                 "sa.Interval(native=False, second_precision=2)"),
    "enum class": (sa.Enum(Color), 'sa.Enum("red", name="color")'),
    "plain": (sa.String(20), "sa.String(length=20)"),
}


@pytest.mark.parametrize("name", list(TYPES))
def test_type_source_is_what_each_database_stores(name: str) -> None:
    typ, expected = TYPES[name]
    text = type_source(typ)
    assert text == expected
    assert type_source(type_of(text)) == text  # a replayed migration gives the same text


def test_identity_computed_and_sequence_cross_a_process_boundary_unchanged() -> None:
    table = sa.Table(
        "t", sa.MetaData(),
        sa.Column("id", sa.Integer, sa.Identity(always=True, start=3, cycle=True),
                  primary_key=True),
        sa.Column("a", sa.Integer),
        sa.Column("b", sa.Integer, sa.Computed("a + 1", persisted=False)),
        sa.Column("n", sa.Integer, sa.Sequence("t_n", start=5, schema="other")),
        sa.Column("g", Guid()),
    )
    state = SchemaState({"t": table_state(table, "blog")})
    assert stateio.loads(stateio.dumps(state)) == state
    column = state.table("t").column("id")
    assert column.identity is not None and column.identity.always
    assert dict(column.identity.options) == {"start": 3, "cycle": True}


def test_a_guid_column_written_as_char_by_an_older_gitmig_is_corrected_by_a_new_migration(
    project: Project, postgres_url: str
) -> None:
    project.write("blog/migrations/__init__.py", "")
    project.write("blog/migrations/0001_initial.py", '''
        """Create table recipe"""
        import sqlalchemy as sa

        from gitmig import ops

        parents = []
        operations = [
            ops.CreateTable(
                "recipe",
                sa.Column("id", sa.CHAR(), primary_key=True, nullable=False),
                sa.Column("title", sa.String(length=100), nullable=False),
            ),
        ]
        ''')
    project.write("blog/models.py", BASE)
    made = project.gitmig("makemigrations", "--check")
    assert made.exit_code == 1  # the old file still loads: the table is there, so
    # with no models the change found is dropping it
    applied = project.gitmig("migrate", "--database", postgres_url)
    assert applied.exit_code == 0, applied.output
    text = migrate_and_compare(project, postgres_url, GUID)
    assert (
        'ops.AlterColumn("recipe", "id", '
        'type_=sa.CHAR(length=32).with_variant(sa.Uuid(), "postgresql")),'
    ) in text


def test_a_decorator_that_needs_a_connection_is_named_with_its_column(
    project: Project,
) -> None:
    project.write("blog/models.py", BASE + '''
from sqlalchemy.types import TypeDecorator


class Versioned(TypeDecorator):
    impl = sa.String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.server_version_info >= (10,):
            return sa.String(40)
        return sa.String(20)


class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)
    code = mapped_column(Versioned(), nullable=True)
''')
    before = project.snapshot()
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 2
    assert made.stderr.startswith("gitmig: error: column item.code: type Versioned: ")
    assert "load_dialect_impl failed for sqlite: TypeError" in made.stderr
    assert "Traceback" not in made.output
    assert project.snapshot() == before
