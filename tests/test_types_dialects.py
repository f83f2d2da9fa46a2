"""Column types as real projects write them, migrated exactly on SQLite, PostgreSQL, MariaDB.

Each story writes models, runs `makemigrations` and `migrate` as a user would, and holds
the database against `create_all` of the same models in a second, fresh database; then
`migrate blog zero` must leave nothing behind.
"""

from __future__ import annotations

import runpy
import uuid

import pytest
import sqlalchemy as sa

from .catalog import assert_same_catalog, create_all, dump_catalog, fresh_database, is_empty
from .conftest import BASE, Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)


def family(url: str) -> str:
    name = sa.engine.make_url(url).get_backend_name()
    return "mysql" if name in ("mysql", "mariadb") else name


def metadata(project: Project) -> sa.MetaData:
    namespace = runpy.run_path(str(project.root / "blog" / "models.py"))
    md: sa.MetaData = namespace["Base"].metadata
    return md


def migrate_and_compare(project: Project, url: str, models: str | None = None) -> str:
    """Write the models, make and apply their migration, compare with create_all.

    Returns the text of the migration written.
    """
    if models is not None:
        project.write("blog/models.py", models)
    before = set(project.migrations("blog"))
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    new = sorted(set(project.migrations("blog")) - before)
    assert len(new) == 1, made.output
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 0, check.output
    applied = project.gitmig("migrate", "--database", url)
    assert applied.exit_code == 0, applied.output
    md = metadata(project)
    names = explicit_names(md)
    with scratch_database(url) as scratch:
        assert_same_schema(
            reflected_schema(url, named=names), create_all_schema(md, scratch, named=names)
        )
    with fresh_database(url) as other:  # the catalog oracle, a judge apart from SQLAlchemy
        create_all(md, other)
        assert_same_catalog(url, other, unnamed=True, labels=("migrated", "create_all"))
    return project.read(f"blog/migrations/{new[0]}")


def migrate_zero_leaves_nothing(project: Project, url: str) -> None:
    result = project.gitmig("migrate", "blog", "zero", "--database", url)
    assert result.exit_code == 0, result.output
    left = reflected_schema(url)
    assert is_empty(dump_catalog(url)), dump_catalog(url)
    assert left["tables"] == {}
    assert left.get("enums", {}) == {}
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if family(url) != "sqlite":
                assert sa.inspect(conn).get_sequence_names() == []
    finally:
        engine.dispose()


GUID = BASE + '''
import uuid
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import CHAR, TypeDecorator


class GUID(TypeDecorator):
    """The recipe from SQLAlchemy's documentation: UUID on PostgreSQL, CHAR(32) elsewhere."""

    impl = CHAR
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.UUID())
        return dialect.type_descriptor(CHAR(32))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if dialect.name == "postgresql":
            return str(value)
        return uuid.UUID(str(value)).hex

    def process_result_value(self, value, dialect):
        return None if value is None else uuid.UUID(str(value))


class Recipe(Base):
    __tablename__ = "recipe"
    id: Mapped[uuid.UUID] = mapped_column(GUID(), primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(sa.String(100))
'''


def test_guid_typedecorator_recipe_is_uuid_on_postgresql_and_char32_elsewhere(
    project: Project, database_url: str
) -> None:
    text = migrate_and_compare(project, database_url, GUID)
    assert 'sa.CHAR(length=32).with_variant(sa.Uuid(), "postgresql")' in text
    assert "GUID" not in text and "blog" not in text  # no project code in a migration

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    key = uuid.uuid4()
    value = str(key) if family(database_url) == "postgresql" else key.hex
    with engine.begin() as conn:  # a real uuid fits: CHAR(1) would refuse it
        conn.execute(sa.text("INSERT INTO recipe (id, title) VALUES (:id, 'soup')"),
                     {"id": value})
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id FROM recipe")).scalar_one()
    engine.dispose()
    assert uuid.UUID(str(stored)) == key
    migrate_zero_leaves_nothing(project, database_url)


VARIANTS = BASE + '''
from sqlalchemy.dialects.sqlite import JSON as SQLiteJSON


class Event(Base):
    __tablename__ = "event"
    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True
    )
    payload = mapped_column(sa.JSON().with_variant(SQLiteJSON(), "sqlite"), nullable=True)
    label = mapped_column(
        sa.String(40).with_variant(sa.String(60), "mysql", "mariadb"), nullable=True
    )
'''


def test_with_variant_types_keep_their_variants(project: Project, database_url: str) -> None:
    text = migrate_and_compare(project, database_url, VARIANTS)
    assert 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")' in text
    assert 'sa.JSON().with_variant(sqlite.JSON(), "sqlite")' in text
    assert 'sa.String(length=40).with_variant(sa.String(length=60), "mariadb", "mysql")' in text
    assert "from sqlalchemy.dialects import sqlite" in text

    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:  # the key still numbers rows by itself on every database
        conn.execute(sa.text("INSERT INTO event (payload) VALUES ('{\"a\": 1}')"))
        assert conn.execute(sa.text("SELECT id FROM event")).scalar_one() == 1
    engine.dispose()
    migrate_zero_leaves_nothing(project, database_url)


OPTIONS = BASE + '''
import enum


class Mood(enum.Enum):
    happy = "h"
    sad = "s"


class Sample(Base):
    __tablename__ = "sample"
    id: Mapped[int] = mapped_column(primary_key=True)
    code = mapped_column(sa.CHAR(32), nullable=True)
    price = mapped_column(sa.Numeric(12, 3), nullable=True)
    ratio = mapped_column(sa.Float(precision=53), nullable=True)
    seen_at = mapped_column(sa.DateTime(timezone=True), nullable=True)
    name = mapped_column(
        sa.String(50)
        .with_variant(sa.String(50, collation="C"), "postgresql")
        .with_variant(sa.String(50, collation="utf8mb4_bin"), "mysql", "mariadb")
        .with_variant(sa.String(50, collation="NOCASE"), "sqlite"),
        nullable=True,
    )
    mood = mapped_column(sa.Enum(Mood, name="mood"), nullable=True)
    level = mapped_column(
        sa.Enum("low", "high", name="level", native_enum=False, length=12,
                create_constraint=True),
        nullable=True,
    )
    mood_value = mapped_column(
        sa.Enum(Mood, name="mood_value", values_callable=lambda e: [m.value for m in e]),
        nullable=True,
    )
    flag = mapped_column(sa.Boolean(create_constraint=True, name="ck_sample_flag"),
                         nullable=True)
    key = mapped_column(sa.Uuid(), nullable=True)
    doc = mapped_column(sa.JSON(), nullable=True)
    wait = mapped_column(sa.Interval(), nullable=True)
    blob = mapped_column(sa.LargeBinary(200), nullable=True)
'''


def test_type_options_survive_makemigrations_and_migrate(
    project: Project, database_url: str
) -> None:
    text = migrate_and_compare(project, database_url, OPTIONS)
    for expected in (
        "sa.CHAR(length=32)",
        "sa.Numeric(precision=12, scale=3)",
        "sa.Float(precision=53)",
        "sa.DateTime(timezone=True)",
        'sa.Enum("happy", "sad", name="mood")',
        'sa.Enum("h", "s", name="mood_value")',
        "native_enum=False",
        "create_constraint=True",
        "length=12",
        'sa.Boolean(create_constraint=True, name="ck_sample_flag")',
        'collation="utf8mb4_bin"',
    ):
        assert expected in text, expected
    migrate_zero_leaves_nothing(project, database_url)


POSTGRES_TYPES = BASE + '''
from sqlalchemy.dialects import postgresql


class Doc(Base):
    __tablename__ = "doc"
    id = mapped_column(postgresql.UUID(), primary_key=True)
    body = mapped_column(postgresql.JSONB(), nullable=True)
    grid = mapped_column(postgresql.ARRAY(sa.Integer(), dimensions=2), nullable=True)
    tags = mapped_column(sa.ARRAY(sa.String(20)), nullable=True)
    ip = mapped_column(postgresql.INET(), nullable=True)
    net = mapped_column(postgresql.CIDR(), nullable=True)
    span = mapped_column(postgresql.INTERVAL(fields="DAY TO SECOND", precision=3),
                         nullable=True)
    wait = mapped_column(sa.Interval(second_precision=2), nullable=True)
    search = mapped_column(postgresql.TSVECTOR(), nullable=True)
    state = mapped_column(postgresql.ENUM("draft", "live", name="doc_state"), nullable=True)
    states = mapped_column(
        postgresql.ARRAY(postgresql.ENUM("a", "b", name="doc_flag")), nullable=True
    )
    at = mapped_column(postgresql.TIMESTAMP(timezone=True, precision=3), nullable=True)
'''


def test_postgresql_dialect_types(project: Project, postgres_url: str) -> None:
    text = migrate_and_compare(project, postgres_url, POSTGRES_TYPES)
    for expected in (
        "postgresql.JSONB(",
        "postgresql.ARRAY(sa.Integer(), dimensions=2)",
        "postgresql.INET()",
        'postgresql.INTERVAL(precision=3, fields="DAY TO SECOND")',
        "sa.Interval(second_precision=2)",
        'postgresql.ARRAY(postgresql.ENUM("a", "b", name="doc_flag"))',
        "postgresql.TSVECTOR()",
    ):
        assert expected in text, expected
    assert "from sqlalchemy.dialects import postgresql" in text
    migrate_zero_leaves_nothing(project, postgres_url)


MYSQL_TYPES = BASE + '''
from sqlalchemy.dialects import mysql


class Stat(Base):
    __tablename__ = "stat"
    id = mapped_column(mysql.INTEGER(unsigned=True), primary_key=True)
    small = mapped_column(mysql.TINYINT(1), nullable=True)
    big = mapped_column(mysql.BIGINT(unsigned=True), nullable=True)
    notes = mapped_column(mysql.MEDIUMTEXT(), nullable=True)
    book = mapped_column(mysql.LONGTEXT(collation="utf8mb4_bin"), nullable=True)
    colors = mapped_column(mysql.SET("red", "green"), nullable=True)
    score = mapped_column(mysql.DOUBLE(), nullable=True)
    money = mapped_column(mysql.DECIMAL(10, 2, unsigned=True), nullable=True)
    at = mapped_column(mysql.DATETIME(fsp=6), nullable=True)
'''


def test_mysql_dialect_types(project: Project, mysql_url: str) -> None:
    text = migrate_and_compare(project, mysql_url, MYSQL_TYPES)
    for expected in (
        "mysql.INTEGER(unsigned=True)",
        "mysql.TINYINT(display_width=1)",
        "mysql.MEDIUMTEXT()",
        'mysql.LONGTEXT(collation="utf8mb4_bin")',
        'mysql.SET("red", "green")',
        "mysql.DOUBLE(asdecimal=True)",
        "mysql.DATETIME(fsp=6)",
    ):
        assert expected in text, expected
    migrate_zero_leaves_nothing(project, mysql_url)


ONE_COLUMN = BASE + '''
from sqlalchemy.dialects import mysql, postgresql


class Thing(Base):
    __tablename__ = "thing"
    id: Mapped[int] = mapped_column(primary_key=True)
    value = mapped_column(TYPE, nullable=True)
'''

# Each pair differs in one option only; makemigrations --check must see it.
CHANGES = {
    "length": ("sa.CHAR(32)", "sa.CHAR(36)"),
    "precision": ("sa.Numeric(10, 2)", "sa.Numeric(12, 2)"),
    "scale": ("sa.Numeric(10, 2)", "sa.Numeric(10, 4)"),
    "timezone": ("sa.DateTime()", "sa.DateTime(timezone=True)"),
    "collation": ('sa.String(20, collation="C")', 'sa.String(20, collation="POSIX")'),
    "enum native": ('sa.Enum("a", "b", name="e")',
                    'sa.Enum("a", "b", name="e", native_enum=False)'),
    "enum constraint": ('sa.Enum("a", name="e", native_enum=False)',
                        'sa.Enum("a", name="e", native_enum=False, create_constraint=True)'),
    "enum length": ('sa.Enum("a", name="e", native_enum=False)',
                    'sa.Enum("a", name="e", native_enum=False, length=20)'),
    "enum name": ('sa.Enum("a", name="e")', 'sa.Enum("a", name="f")'),
    "enum schema": ('sa.Enum("a", name="e")', 'sa.Enum("a", name="e", schema="other")'),
    "enum values": ('sa.Enum("a", name="e")', 'sa.Enum("a", "b", name="e")'),
    "boolean constraint": ("sa.Boolean()", "sa.Boolean(create_constraint=True)"),
    "array dimensions": ("postgresql.ARRAY(sa.Integer())",
                         "postgresql.ARRAY(sa.Integer(), dimensions=2)"),
    "array item": ("postgresql.ARRAY(sa.Integer())", "postgresql.ARRAY(sa.BigInteger())"),
    "uuid to char": ("postgresql.UUID()", "sa.CHAR(32)"),
    "json to jsonb": ("sa.JSON()", "postgresql.JSONB()"),
    "inet to cidr": ("postgresql.INET()", "postgresql.CIDR()"),
    "interval fields": ("postgresql.INTERVAL()", 'postgresql.INTERVAL(fields="DAY")'),
    "interval precision": ("sa.Interval()", "sa.Interval(second_precision=3)"),
    "interval native": ("sa.Interval()", "sa.Interval(native=False)"),
    "tinyint width": ("mysql.TINYINT()", "mysql.TINYINT(1)"),
    "unsigned": ("mysql.INTEGER()", "mysql.INTEGER(unsigned=True)"),
    "text size": ("mysql.MEDIUMTEXT()", "mysql.LONGTEXT()"),
    "set values": ('mysql.SET("a")', 'mysql.SET("a", "b")'),
    "double": ("sa.Float()", "mysql.DOUBLE()"),
    "uuid native": ("sa.Uuid()", "sa.Uuid(native_uuid=False)"),
    "variant added": ("sa.BigInteger()", 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")'),
    "variant changed": ('sa.BigInteger().with_variant(sa.Integer(), "sqlite")',
                        'sa.BigInteger().with_variant(sa.SmallInteger(), "sqlite")'),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_makemigrations_check_notices_a_changed_type_option(
    project: Project, change: str
) -> None:
    old, new = CHANGES[change]
    project.write("blog/models.py", ONE_COLUMN.replace("TYPE", old))
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    assert project.gitmig("makemigrations", "--check").exit_code == 0
    project.write("blog/models.py", ONE_COLUMN.replace("TYPE", new))
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 1, check.output
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    written = project.read(f"blog/migrations/{project.migrations('blog')[-1]}")
    # A named enum's values change once for every column using it (ops.AlterEnum).
    assert ("ops.AlterEnum(" if change == "enum values" else "ops.AlterColumn(") in written
    assert project.gitmig("makemigrations", "--check").exit_code == 0


def test_written_types_are_byte_identical_for_the_same_models(
    project: Project, tmp_path: pytest.TempPathFactory
) -> None:
    project.write("blog/models.py", GUID + VARIANTS.replace(BASE, "") + OPTIONS.replace(BASE, ""))
    first = project.gitmig("makemigrations", "--dry-run", "-v", "3")
    second = project.gitmig("makemigrations", "--dry-run", "-v", "3")
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    assert project.gitmig("makemigrations", "--no-input").exit_code == 0
    text = project.read("blog/migrations/0001_initial.py")
    assert 'with_variant(sa.Uuid(), "postgresql")' in text
    assert 'sa.JSON().with_variant(sqlite.JSON(), "sqlite")' in text
    assert project.gitmig("makemigrations", "--check").exit_code == 0


@pytest.mark.parametrize(
    ("dialect", "column"),
    [("postgresql", "id UUID NOT NULL"), ("mysql", "id CHAR(32) NOT NULL"),
     ("sqlite", "id CHAR(32) NOT NULL")],
)
def test_sqlmigrate_prints_each_databases_own_type_for_a_decorator(
    project: Project, dialect: str, column: str
) -> None:
    project.write("blog/models.py", GUID)
    assert project.gitmig("makemigrations", "--no-input").exit_code == 0
    sql = project.gitmig("sqlmigrate", "blog", "0001", "--dialect", dialect)
    assert sql.exit_code == 0, sql.output
    assert column in sql.stdout, sql.stdout


def test_string_ids_become_the_guid_recipe_with_their_rows(
    project: Project, database_url: str
) -> None:
    """VARCHAR(36) -> UUID on PostgreSQL needs USING id::UUID; elsewhere CHAR(32)."""
    before = GUID.replace("GUID(), primary_key=True", "sa.String(36), primary_key=True")
    migrate_and_compare(project, database_url, before)
    key = uuid.uuid4()
    value = str(key) if family(database_url) == "postgresql" else key.hex
    rows_sql = "INSERT INTO recipe (id, title) VALUES (:id, 'soup')"
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(rows_sql), {"id": value})
    text = migrate_and_compare(project, database_url, GUID)
    assert 'type_=sa.CHAR(length=32).with_variant(sa.Uuid(), "postgresql")' in text
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id, title FROM recipe")).one()
    engine.dispose()
    assert (uuid.UUID(str(stored[0])), stored[1]) == (key, "soup")
    migrate_zero_leaves_nothing(project, database_url)
