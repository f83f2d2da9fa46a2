"""What create_all makes and a migration once missed (issue 12): checks declared on a
column, a project's @compiles hook on a type, foreign keys in create_all's order.

The PostgreSQL and MariaDB runs of the same models are the idioms in
tests/test_idiom_models.py (column_level_check_constraint, compiles_override_datetime6_on_mysql,
association_tables_built_in_a_loop); these are the fast SQLite and plain-value checks.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from gitmig import ops
from gitmig.errors import GitmigError
from gitmig.schema import canonical, materialize, typehooks
from gitmig.schema.state import Check, SchemaState
from gitmig.schema.typesource import type_source

from .catalog import assert_same_catalog, fresh_database
from .conftest import Project

COLUMN_CHECKS = """
import sqlalchemy as sa

metadata = sa.MetaData()

room = sa.Table(
    "room", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("seats", sa.Integer, sa.CheckConstraint("seats > 0"), nullable=False),
    sa.Column("floor", sa.Integer, sa.CheckConstraint("floor >= 0"), nullable=False),
)
"""


def _create_all(url: str, text: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(text, "<models>", "exec"), namespace)  # noqa: S102 - the test's own models
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        namespace["metadata"].create_all(engine)  # type: ignore[attr-defined]
    finally:
        engine.dispose()


def test_a_check_given_to_a_column_is_written_inside_its_definition(project: Project) -> None:
    """`Column("seats", Integer, CheckConstraint(...))`: SQLite keeps `seats INTEGER NOT NULL
    CHECK (seats > 0)`, not a table-level CHECK; the migration writes it there too."""
    project.write("blog/models.py", COLUMN_CHECKS)
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    text = project.read("blog/migrations/0001_initial.py")
    assert 'sa.Column("seats", sa.Integer(), sa.CheckConstraint("seats > 0"), nullable=False)' \
        in text
    url = f"sqlite:///{project.root / 'db.sqlite3'}"
    assert project.gitmig("migrate", "--database", url).exit_code == 0
    with fresh_database(url) as expected:
        _create_all(expected, COLUMN_CHECKS)
        assert_same_catalog(url, expected, labels=("migrated", "create_all"))
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 0, check.output


def test_a_check_added_to_an_existing_column_keeps_the_rows(project: Project) -> None:
    before = COLUMN_CHECKS.replace(' sa.CheckConstraint("seats > 0"),', "")
    project.write("blog/models.py", before)
    url = f"sqlite:///{project.root / 'db.sqlite3'}"
    assert project.gitmig("makemigrations", "--no-input").exit_code == 0
    assert project.gitmig("migrate", "--database", url).exit_code == 0
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO room (id, seats, floor) VALUES (1, 4, 2)"))
    project.write("blog/models.py", COLUMN_CHECKS)
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    second = project.read(f"blog/migrations/{project.migrations('blog')[1]}")
    assert 'sa.CheckConstraint("seats > 0"), column="seats")' in second
    assert project.gitmig("migrate", "--database", url).exit_code == 0
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT seats FROM room")).scalar() == 4
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO room (id, seats, floor) VALUES (2, 0, 1)"))
    engine.dispose()
    with fresh_database(url) as expected:
        _create_all(expected, COLUMN_CHECKS)
        assert_same_catalog(url, expected, labels=("migrated", "create_all"))
    back = project.gitmig("migrate", "blog", "0001", "--database", url)
    assert back.exit_code == 0, back.output
    with fresh_database(url) as expected:
        _create_all(expected, before)
        assert_same_catalog(url, expected, labels=("unapplied", "create_all"))


def test_a_column_check_follows_renames_and_goes_with_its_column() -> None:
    table = canonical.table_of("room", None, (
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("seats", sa.Integer(), sa.CheckConstraint("seats > 0")),
    ), None)
    assert table.checks == frozenset({Check("seats > 0", column="seats")})
    state = SchemaState({"room": table})
    renamed = ops.RenameColumn("room", "seats", "places").state_forwards(state, "blog")
    assert renamed.table("room").checks == frozenset({Check("seats > 0", column="places")})
    dropped = ops.DropColumn("room", "places").state_forwards(renamed, "blog")
    assert dropped.table("room").checks == frozenset()
    with pytest.raises(GitmigError, match="only a check constraint"):
        ops.AddConstraint("room", sa.UniqueConstraint("seats"), column="seats")
    with pytest.raises(GitmigError, match=r"a check inside the column is not added with it; "
                                          r"add it after the column with ops.AddConstraint"):
        ops.AddColumn("room", sa.Column("x", sa.Integer(), sa.CheckConstraint("x > 0")))
    with pytest.raises(GitmigError, match="cannot add check constraint"):
        ops.AddConstraint("room", sa.CheckConstraint("x > 0"), column="x").state_forwards(
            state, "blog")


# -- a project's @compiles hook ------------------------------------------------------------


@pytest.fixture
def hooked_time() -> Iterator[None]:
    """`@compiles(sa.Time, "mysql")` for this test only: the hook is global to the process,
    so the class's own dispatch is put back afterwards."""
    from sqlalchemy.ext.compiler import compiles

    saved = dict(sa.Time.__dict__)

    @compiles(sa.Time, "mysql")
    def _time_with_millis(type_: object, compiler: object, **kw: object) -> str:
        return "TIME(3)"

    @compiles(sa.Time, "sqlite")
    def _time_as_anything(type_: object, compiler: object, **kw: object) -> str:
        return "CLOCK FACE"

    try:
        yield
    finally:
        for name in ("_compiler_dispatch", "_compiler_dispatcher"):
            if name in saved:
                setattr(sa.Time, name, saved[name])
            elif name in sa.Time.__dict__:
                delattr(sa.Time, name)


def test_a_compiles_hook_on_mysql_becomes_a_variant_while_models_are_read(
    hooked_time: None,
) -> None:
    from sqlalchemy.dialects import mysql

    # Replayed migrations describe what they wrote: hooks in this process do not count.
    assert type_source(sa.Time()) == "sa.Time()"
    with typehooks.honoured():
        hook = typehooks.hook(sa.Time(), mysql.dialect())
        assert hook is not None and hook.__name__ == "_time_with_millis"
        assert typehooks.unhooked(sa.Time(), mysql.dialect()).compile(
            dialect=mysql.dialect()) == "TIME(3)"
        with pytest.raises(GitmigError, match=r"_time_as_anything \(@compiles\) to 'CLOCK FACE' "
                                               r"on sqlite, which no SQLAlchemy type writes"):
            type_source(sa.Time())
    # What the migration writes rebuilds, in a process without the hook, the same DDL.
    written = 'sa.Time().with_variant(mysql.TIME(fsp=3), "mysql")'
    assert str(materialize.type_of(written).compile(dialect=mysql.dialect())) == "TIME(3)"
    assert typehooks.hook(mysql.TIME(fsp=3), mysql.dialect()) is None  # its own compiler
    assert type_source(materialize.type_of(written)) == written


@pytest.mark.slow  # a models import in a new process (the hook must not stay in this one)
def test_a_compiles_hook_on_mysql_is_written_into_the_migration(project: Project) -> None:
    """The idiom of tests/test_idiom_models.py, read as the file a user sees (a new process:
    the hook must not outlive the models that define it)."""
    from .test_idiom_models import IDIOMS, gitmig

    project.write("blog/models.py", IDIOMS["compiles_override_datetime6_on_mysql"]
                  .files["blog/models.py"])
    made = gitmig(project, "makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    text = project.read("blog/migrations/0001_initial.py")
    assert 'sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")' in text


def test_foreign_keys_are_created_in_column_order() -> None:
    """MariaDB numbers unnamed keys (t_ibfk_1, t_ibfk_2) in CREATE TABLE order, which
    create_all takes from the columns; not in the order their text sorts."""
    table = canonical.table_of("editor_map", None, (
        sa.Column("team_id", sa.Integer(), sa.ForeignKey("team.id")),
        sa.Column("member_id", sa.Integer(), sa.ForeignKey("member.id")),
    ), None)
    made = materialize.table(table)
    created = sorted(made.foreign_key_constraints, key=lambda c: c._creation_order)
    assert [c.column_keys[0] for c in created] == ["team_id", "member_id"]


def test_a_not_null_generated_column_is_named_when_mariadb_is_configured(
    project: Project,
) -> None:
    """create_all itself fails there (MariaDB refuses NOT NULL on a generated column);
    makemigrations says so when it writes the migration, not migrate later."""
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"',
        'database = "mysql+pymysql://nobody@127.0.0.1:9/nowhere"'))
    project.write("blog/models.py", COLUMN_CHECKS.replace(
        '    sa.Column("floor", sa.Integer,',
        '    sa.Column("total", sa.Integer, sa.Computed("seats * 2"), nullable=False),\n'
        '    sa.Column("floor", sa.Integer,'))
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    assert ("room.total: MariaDB/MySQL (the configured database) cannot create this column: "
            "MariaDB refuses NOT NULL on a generated column") in made.output
    assert "room.seats" not in made.output


FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.mark.parametrize("db", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.slow),
    pytest.param("mysql", marks=pytest.mark.slow),
])
def test_a_renamed_column_keeps_its_rows_and_its_renamed_check(
    project: Project, request: pytest.FixtureRequest, db: str
) -> None:
    """The check naming the column goes before the rename and comes back after it: the
    database rewrites its text on the rename (PostgreSQL, SQLite) or refuses the rename
    (MariaDB: "Unknown column 'seats' in 'CHECK'")."""
    url = str(request.getfixturevalue(FIXTURES[db]))
    project.write("blog/models.py", COLUMN_CHECKS)
    assert project.gitmig("makemigrations").exit_code == 0
    assert project.gitmig("migrate", "--database", url).exit_code == 0
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO room (id, seats, floor) VALUES (1, 4, 2)"))
    renamed = COLUMN_CHECKS.replace('"seats"', '"places"').replace("seats > 0", "places > 0")
    project.write("blog/models.py", renamed)
    made = project.gitmig("makemigrations", "--no-input", "--rename", "room.seats=places")
    assert made.exit_code == 0, made.output
    assert "+ Rename column room.seats to places" in made.output
    done = project.gitmig("migrate", "--database", url)
    assert done.exit_code == 0, done.output
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT places FROM room")).scalar() == 4
    engine.dispose()
    with fresh_database(url) as expected:
        _create_all(expected, renamed)
        assert_same_catalog(url, expected, labels=("migrated", "create_all"))
    back = project.gitmig("migrate", "blog", "zero", "--database", url)
    assert back.exit_code == 0, back.output
