"""Columns beyond name and type: identity, computed, sequences, defaults, comments, casts.

Each story migrates models step by step as a user would and holds the database against
`create_all` of the same models after every step, with rows kept where the step keeps
them; `migrate blog zero` must leave no table, type or sequence.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .test_types_dialects import family, migrate_and_compare, migrate_zero_leaves_nothing


def rows(url: str, sql: str, params: dict[str, object] | None = None) -> list[tuple[object, ...]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(sql), params or {})
            return [tuple(r) for r in result] if result.returns_rows else []
    finally:
        engine.dispose()


IDENTITY = BASE + '''
class Ticket(Base):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(sa.Identity(always=True, start=10, increment=5),
                                    primary_key=True)
    seat: Mapped[int] = mapped_column(sa.Identity(start=100))
    title: Mapped[str] = mapped_column(sa.String(50))
'''


def test_identity_always_and_by_default_with_start_and_increment(
    project: Project, database_url: str
) -> None:
    text = migrate_and_compare(project, database_url, IDENTITY)
    assert "sa.Identity(always=True, start=10, increment=5)" in text
    assert "sa.Identity(start=100)" in text
    if family(database_url) == "postgresql":
        rows(database_url, "INSERT INTO ticket (title) VALUES ('a'), ('b')")
        assert rows(database_url, "SELECT id, seat FROM ticket ORDER BY id") == [
            (10, 100), (15, 101)]
    migrate_zero_leaves_nothing(project, database_url)


def test_identity_added_and_changed_on_an_existing_column(
    project: Project, postgres_url: str
) -> None:
    v1 = IDENTITY.replace("sa.Identity(start=100)", "sa.Integer()")
    migrate_and_compare(project, postgres_url, v1)
    rows(postgres_url, "INSERT INTO ticket (seat, title) VALUES (1, 'a')")
    text = migrate_and_compare(project, postgres_url, IDENTITY)
    assert "identity=sa.Identity(start=100)" in text
    text = migrate_and_compare(
        project, postgres_url, IDENTITY.replace("sa.Identity(start=100)",
                                                "sa.Identity(always=True, start=100)"))
    assert "identity=sa.Identity(always=True, start=100)" in text
    assert rows(postgres_url, "SELECT seat, title FROM ticket") == [(1, "a")]
    back = project.gitmig("migrate", "blog", "0001", "--database", postgres_url)
    assert back.exit_code == 0, back.output
    assert rows(postgres_url, "SELECT seat, title FROM ticket") == [(1, "a")]
    migrate_zero_leaves_nothing(project, postgres_url)


COMPUTED = BASE + '''
class Box(Base):
    __tablename__ = "box"
    id: Mapped[int] = mapped_column(primary_key=True)
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
'''
AREA_STORED = """    area = mapped_column(sa.Integer(),
                         sa.Computed("width * height", persisted=True))
"""
AREA_VIRTUAL = '''    perimeter = mapped_column(sa.Integer(), sa.Computed("2 * (width + height)",
                              persisted=False))
'''


def test_computed_columns_added_changed_and_removed_keep_rows(
    project: Project, database_url: str
) -> None:
    migrate_and_compare(project, database_url, COMPUTED)
    rows(database_url, "INSERT INTO box (id, width, height) VALUES (1, 2, 3)")

    text = migrate_and_compare(project, database_url, COMPUTED + AREA_STORED)
    assert 'sa.Computed("width * height", persisted=True)' in text
    assert rows(database_url, "SELECT area FROM box") == [(6,)]

    changed = COMPUTED + AREA_STORED.replace("width * height", "width * height * 10")
    migrate_and_compare(project, database_url, changed)
    assert rows(database_url, "SELECT width, height, area FROM box") == [(2, 3, 60)]

    if family(database_url) != "postgresql":  # PostgreSQL 15 has no VIRTUAL columns
        migrate_and_compare(project, database_url, changed + AREA_VIRTUAL)
        assert rows(database_url, "SELECT perimeter FROM box") == [(10,)]
        # any other change to the table (SQLite rebuilds it) keeps generated columns
        migrate_and_compare(
            project, database_url,
            (changed + AREA_VIRTUAL).replace("height: Mapped[int] = mapped_column()",
                                             "height: Mapped[int | None] = mapped_column()"),
        )
        assert rows(database_url, "SELECT area, perimeter FROM box") == [(60, 10)]

    migrate_and_compare(project, database_url, COMPUTED.replace(
        "height: Mapped[int] = mapped_column()", "height: Mapped[int | None] = mapped_column()"))
    assert rows(database_url, "SELECT id, width, height FROM box") == [(1, 2, 3)]
    migrate_zero_leaves_nothing(project, database_url)


SEQUENCE = BASE + '''
class Invoice(Base):
    __tablename__ = "invoice"
    id: Mapped[int] = mapped_column(sa.Sequence("invoice_id_seq", start=1000, increment=2),
                                    primary_key=True)
    number: Mapped[int | None] = mapped_column(sa.Sequence("invoice_number_seq"))
'''


def test_sequence_is_created_and_dropped_with_its_table(
    project: Project, database_url: str
) -> None:
    text = migrate_and_compare(project, database_url, SEQUENCE)
    assert 'sa.Sequence("invoice_id_seq", start=1000, increment=2)' in text
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        names = set(sa.inspect(conn).get_sequence_names()) if engine.dialect.supports_sequences \
            else set()
    engine.dispose()
    if family(database_url) == "postgresql":
        assert names == {"invoice_id_seq", "invoice_number_seq"}
    # the sequence dropped with its column, then the whole table
    migrate_and_compare(project, database_url, SEQUENCE.replace(
        '    number: Mapped[int | None] = mapped_column(sa.Sequence("invoice_number_seq"))\n',
        ""))
    migrate_zero_leaves_nothing(project, database_url)


COMPOSITE = BASE + '''
class Revision(Base):
    __tablename__ = "revision"
    doc_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    note: Mapped[str | None] = mapped_column(sa.String(20))
'''


def test_autoincrement_on_a_composite_primary_key(project: Project, database_url: str) -> None:
    if family(database_url) == "sqlite":  # create_all refuses it too: said when written
        project.write("blog/models.py", COMPOSITE)
        made = project.gitmig("makemigrations", "--no-input")
        assert made.exit_code == 0, made.output
        assert "revision: sqlite (the configured database) cannot create this table" in (
            made.stderr)
        assert "composite primary keys" in made.stderr
        return
    text = migrate_and_compare(project, database_url, COMPOSITE)
    assert "autoincrement=True" in text and "autoincrement=False" in text
    migrate_zero_leaves_nothing(project, database_url)


DEFAULTS = BASE + '''
class Setting(Base):
    __tablename__ = "setting"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(20), server_default="unnamed")
    count: Mapped[int] = mapped_column(server_default=sa.text("0"))
    made_at = mapped_column(sa.DateTime(), server_default=sa.func.now(), nullable=False)
    stamp = mapped_column(sa.DateTime(), server_default=sa.text("CURRENT_TIMESTAMP"),
                          nullable=True)
    active: Mapped[bool] = mapped_column(server_default=sa.true())
    ratio = mapped_column(sa.Numeric(5, 2), server_default="1.50", nullable=True)
    kind = mapped_column(sa.String(10), server_default=sa.literal_column("'std'"),
                         nullable=True)
'''


def test_server_defaults_of_every_kind(project: Project, database_url: str) -> None:
    text = migrate_and_compare(project, database_url, DEFAULTS)
    assert 'server_default="unnamed"' in text
    assert 'server_default=sa.text("0")' in text
    assert "server_default=sa.func.now()" in text
    assert "server_default=sa.true()" in text
    rows(database_url, "INSERT INTO setting (id) VALUES (1)")
    assert rows(database_url, "SELECT name, count, kind FROM setting") == [("unnamed", 0, "std")]
    changed = DEFAULTS.replace('server_default="unnamed"', 'server_default="anon"').replace(
        'server_default=sa.text("0")', 'server_default=sa.text("7")').replace(
        "server_default=sa.true()", "server_default=sa.false()")
    migrate_and_compare(project, database_url, changed)
    rows(database_url, "INSERT INTO setting (id) VALUES (2)")
    assert rows(database_url, "SELECT id, name, count FROM setting ORDER BY id") == [
        (1, "unnamed", 0), (2, "anon", 7)]
    migrate_zero_leaves_nothing(project, database_url)


COMMENTS = BASE + '''
class Note(Base):
    __tablename__ = "note"
    id: Mapped[int] = mapped_column(primary_key=True)
    body: Mapped[str | None] = mapped_column(sa.String(200), comment="what was said")
'''


def test_column_comments_added_changed_removed(project: Project, database_url: str) -> None:
    migrate_and_compare(project, database_url, COMMENTS.replace(', comment="what was said"', ""))
    rows(database_url, "INSERT INTO note (id, body) VALUES (1, 'hi')")
    text = migrate_and_compare(project, database_url, COMMENTS)
    assert 'comment="what was said"' in text
    migrate_and_compare(project, database_url, COMMENTS.replace("what was said", "the text"))
    migrate_and_compare(project, database_url, COMMENTS.replace(', comment="what was said"', ""))
    assert rows(database_url, "SELECT id, body FROM note") == [(1, "hi")]
    migrate_zero_leaves_nothing(project, database_url)


CAST = BASE + '''
class Reading(Base):
    __tablename__ = "reading"
    id: Mapped[int] = mapped_column(primary_key=True)
    value = mapped_column(sa.String(20), nullable=True)
'''


def test_type_change_that_needs_a_cast_keeps_rows(project: Project, database_url: str) -> None:
    migrate_and_compare(project, database_url, CAST)
    rows(database_url, "INSERT INTO reading (id, value) VALUES (1, '12'), (2, NULL)")
    text = migrate_and_compare(project, database_url, CAST.replace("sa.String(20)", "sa.Integer()"))
    assert 'ops.AlterColumn("reading", "value", type_=sa.Integer())' in text
    if family(database_url) == "postgresql":
        sql = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "postgresql")
        assert "USING value::INTEGER" in sql.stdout, sql.output
    assert rows(database_url, "SELECT id, value FROM reading ORDER BY id") == [(1, 12), (2, None)]
    migrate_and_compare(project, database_url, CAST.replace("sa.String(20)", "sa.Numeric(8, 2)"))
    back = project.gitmig("migrate", "blog", "0001", "--database", database_url)
    assert back.exit_code == 0, back.output
    found = rows(database_url, "SELECT id, value FROM reading ORDER BY id")
    assert [(i, None if v is None else float(v)) for i, v in found] == [(1, 12.0), (2, None)]
    migrate_zero_leaves_nothing(project, database_url)


def test_string_without_length_on_mysql_is_reported_when_the_migration_is_written(
    project: Project,
) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', 'database = "mysql+pymysql://u@localhost/app"'))
    project.write("blog/models.py", BASE + '''
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String())
    body: Mapped[str] = mapped_column(sa.Text())
''')
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    lines = [line for line in made.stderr.splitlines() if "post." in line]
    assert len(lines) == 1, made.stderr
    assert "post.title" in lines[0] and "MariaDB/MySQL" in lines[0]
    assert "VARCHAR requires a length" in lines[0]
    assert project.migrations("blog") == ["0001_initial.py"]  # written all the same


def test_no_warning_for_a_string_without_length_on_postgresql(project: Project) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', 'database = "postgresql://u@localhost/app"'))
    project.write("blog/models.py", BASE + '''
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String())
''')
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    assert "warning" not in made.stderr


EXPRESSION_DEFAULTS = BASE + '''
class Stock(Base):
    __tablename__ = "stock"
    id: Mapped[int] = mapped_column(primary_key=True)
    count = mapped_column(sa.Integer(), server_default=sa.cast("5", sa.Integer()),
                          nullable=True)
    code = mapped_column(sa.String(10), server_default=sa.func.lower("AB"), nullable=True)
'''


def test_expression_server_defaults_are_spelled_by_each_database(
    project: Project, database_url: str
) -> None:
    # MySQL casts to SIGNED INTEGER, others to INTEGER: the file keeps the expression
    text = migrate_and_compare(project, database_url, EXPRESSION_DEFAULTS)
    assert 'server_default=sa.cast("5", sa.Integer())' in text
    assert "server_default=sa.text(\"lower('AB')\")" in text  # the same everywhere
    rows(database_url, "INSERT INTO stock (id) VALUES (1)")
    assert rows(database_url, "SELECT count, code FROM stock") == [(5, "ab")]
    migrate_zero_leaves_nothing(project, database_url)


def test_sequence_given_to_an_existing_column_and_taken_away(
    project: Project, database_url: str
) -> None:
    plain = SEQUENCE.replace('mapped_column(sa.Sequence("invoice_number_seq"))',
                             "mapped_column()")
    migrate_and_compare(project, database_url, plain)
    text = migrate_and_compare(project, database_url, SEQUENCE)
    assert 'sequence=sa.Sequence("invoice_number_seq")' in text
    migrate_and_compare(project, database_url, plain)
    back = project.gitmig("migrate", "blog", "0002", "--database", database_url)
    assert back.exit_code == 0, back.output
    migrate_zero_leaves_nothing(project, database_url)
