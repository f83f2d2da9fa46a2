"""`makemigrations --safe`: the safe forms written directly, reaching the same schema as the
plain forms (the catalog oracle), forwards and back, on the three databases."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gitmig import ops
from gitmig.migrations.safeforms import rewrite
from gitmig.schema.state import SchemaState

from .catalog import assert_same_catalog, create_all_of_modules, fresh_database
from .conftest import BASE, Project

V1 = BASE + '''

class Author(Base):
    __tablename__ = "author"
    id: Mapped[int] = mapped_column(primary_key=True)


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    author_id: Mapped[int | None] = mapped_column()
'''

V2 = V1.replace(
    "    title: Mapped[str] = mapped_column(sa.String(200))\n"
    "    author_id: Mapped[int | None] = mapped_column()\n",
    "    __table_args__ = (sa.CheckConstraint('views >= 0', name='ck_post_views'),)\n"
    "    title: Mapped[str] = mapped_column(sa.String(200), index=True)\n"
    "    author_id: Mapped[int | None] = mapped_column(\n"
    "        sa.ForeignKey('author.id', name='fk_post_author'))\n"
    "    views: Mapped[int] = mapped_column(default=0)\n",
)

POST = ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True),
                       sa.Column("title", sa.String(20)))


def before() -> SchemaState:
    return POST.state_forwards(SchemaState(), "blog")


def test_safe_forms_on_an_existing_table() -> None:
    written, atomic = rewrite([
        ops.CreateIndex("ix_t", "post", ["title"]),
        ops.AddConstraint("post", sa.CheckConstraint("id > 0", name="ck_id")),
        ops.AddColumn("post", sa.Column("n", sa.Integer(), nullable=False), backfill=0),
    ], before())
    assert [op.source().flat() for op in written] == [
        'ops.CreateIndex("ix_t", "post", ["title"], concurrently=True)',
        'ops.AddConstraint("post", sa.CheckConstraint("id > 0", name="ck_id"), validate=False)',
        'ops.ValidateConstraint("post", "ck_id")',
        'ops.AddColumn("post", sa.Column("n", sa.Integer(), nullable=True, server_default="0"))',
        'ops.AddConstraint("post", sa.CheckConstraint("n IS NOT NULL", '
        'name="ck_post_n_not_null"), validate=False)',
        'ops.ValidateConstraint("post", "ck_post_n_not_null")',
        'ops.AlterColumn("post", "n", nullable=False)',
        'ops.DropConstraint("post", "ck_post_n_not_null", type_="check")',
        'ops.AlterColumn("post", "n", server_default=None)',
    ]
    assert atomic is False


def test_a_new_table_needs_no_safe_form_and_other_databases_no_concurrency() -> None:
    index = ops.CreateIndex("ix_t", "post", ["title"])
    assert rewrite([POST, index], SchemaState()) == ([POST, index], True)
    assert rewrite([index], before(), concurrent=False) == ([index], True)


def test_validate_and_its_reverse() -> None:
    s = ops.AddConstraint("post", sa.CheckConstraint("id > 0", name="ck_id"),
                          validate=False).state_forwards(before(), "blog")
    validate = ops.ValidateConstraint("post", "ck_id")
    assert validate.state_forwards(s, "blog") == s
    assert validate.reverse(s).state_forwards(s, "blog") == s
    assert validate.describe() == "Validate constraint ck_id on post"
    from gitmig.errors import GitmigError

    with pytest.raises(GitmigError, match="no foreign key or check constraint"):
        ops.ValidateConstraint("post", "nope").state_forwards(s, "blog")


def migrated_like_create_all(project: Project, url: str) -> None:
    with fresh_database(url) as oracle:
        create_all_of_modules(project.root, oracle, "blog.models")
        assert_same_catalog(url, oracle, labels=("safe migrations", "create_all"))


def safe_story(project: Project, url: str) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        '"sqlite:///db.sqlite3"', f'"{url}"'))
    project.write("blog/models.py", V1)
    assert project.gitmig("makemigrations", "--no-input").exit_code == 0
    assert project.gitmig("migrate").exit_code == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO author (id) VALUES (1)"))
        conn.execute(sa.text("INSERT INTO post (id, title, author_id) VALUES (1, 'a', 1)"))
    engine.dispose()
    project.write("blog/models.py", V2)
    made = project.gitmig("makemigrations", "--no-input", "--safe")
    assert made.exit_code == 0, made.output
    text = project.read("blog/migrations/" + project.migrations("blog")[-1])
    postgresql = url.startswith("postgresql")  # the only one where these mean something
    assert ("atomic = False" in text) is postgresql
    assert ('ops.ValidateConstraint("post", "ck_post_views_not_null")' in text) is postgresql
    assert ("backfill=0" in text) is not postgresql  # elsewhere: the plain form
    assert ("validate=False" in text and "ops.ValidateConstraint(" in text) is postgresql
    assert ("concurrently=True" in text) is postgresql
    assert project.gitmig("migrate").exit_code == 0
    migrated_like_create_all(project, url)
    back = project.gitmig("migrate", "blog", "0001")
    assert back.exit_code == 0, back.output
    with fresh_database(url) as plain:
        project.write("blog/models.py", V1)
        create_all_of_modules(project.root, plain, "blog.models")
        assert_same_catalog(url, plain, labels=("safe migrations undone", "create_all of V1"))
    project.write("blog/models.py", V2)
    assert project.gitmig("migrate").exit_code == 0
    migrated_like_create_all(project, url)


@pytest.mark.slow  # two create_all runs in child processes
def test_safe_migrations_reach_the_models_schema_on_sqlite(project: Project,
                                                           sqlite_url: str) -> None:
    safe_story(project, sqlite_url)


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["postgres_url", "mysql_url"])
def test_safe_migrations_reach_the_models_schema(project: Project, fixture: str,
                                                 request: pytest.FixtureRequest) -> None:
    safe_story(project, str(request.getfixturevalue(fixture)))


def test_concurrent_index_operations_reverse_concurrently() -> None:
    create = ops.CreateIndex("ix_t", "post", ["title"], concurrently=True)
    drop = create.reverse(before())
    assert drop.source().flat() == 'ops.DropIndex("ix_t", "post", concurrently=True)'
    after = create.state_forwards(before(), "blog")
    assert drop.reverse(after).source().flat() == create.source().flat()
    assert create.state_forwards(before(), "blog") == ops.CreateIndex(
        "ix_t", "post", ["title"]).state_forwards(before(), "blog")  # the same schema


SAFE_FILE = '''
import sqlalchemy as sa
from gitmig import ops

parents = ["0001_initial"]
atomic = False
operations = [
    ops.CreateIndex("ix_post_title", "post", ["title"], concurrently=True),
    ops.AddConstraint("post", sa.CheckConstraint("id > 0", name="ck_id"), validate=False),
    ops.ValidateConstraint("post", "ck_id"),
]
'''

INITIAL = '''
import sqlalchemy as sa
from gitmig import ops

parents = []
operations = [
    ops.CreateTable("post", sa.Column("id", sa.Integer(), primary_key=True),
                    sa.Column("title", sa.String(20))),
]
'''


def test_sqlmigrate_prints_the_safe_forms(project: Project) -> None:
    project.write("blog/migrations/0001_initial.py", INITIAL)
    project.write("blog/migrations/0002_safe.py", SAFE_FILE)
    pg = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "postgresql")
    assert pg.exit_code == 0, pg.output
    assert "CREATE INDEX CONCURRENTLY ix_post_title ON post (title);" in pg.stdout
    assert "BEGIN;" not in pg.stdout  # it cannot run in a transaction
    assert "-- not atomic: each statement commits on its own" in pg.stdout
    assert "ADD CONSTRAINT ck_id CHECK (id > 0) NOT VALID;" in pg.stdout
    assert "ALTER TABLE post VALIDATE CONSTRAINT ck_id;" in pg.stdout
    back = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "postgresql",
                          "--backwards")
    assert "DROP INDEX CONCURRENTLY IF EXISTS ix_post_title;" in back.stdout
    my = project.gitmig("sqlmigrate", "blog", "0002", "--dialect", "mysql")
    sql = "\n".join(line for line in my.stdout.splitlines() if not line.startswith("--"))
    assert "CREATE INDEX ix_post_title ON post (title);" in sql
    assert "CONCURRENTLY" not in sql and "NOT VALID" not in sql and "VALIDATE" not in sql


def test_a_safe_migration_applies_and_unapplies_on_sqlite(project: Project) -> None:
    project.write("blog/migrations/0001_initial.py", INITIAL)
    project.write("blog/migrations/0002_safe.py", SAFE_FILE)
    assert project.gitmig("migrate").exit_code == 0
    shown = project.gitmig("showmigrations")
    assert "[X] 0002_safe" in shown.stdout
    back = project.gitmig("migrate", "blog", "0001")
    assert back.exit_code == 0, back.output
    assert "[ ] 0002_safe" in project.gitmig("showmigrations").stdout


@pytest.mark.parametrize(("text", "words"), [
    ("[tool.gitmig.lint]\nallow = \"drop-column\"\n", "must be a list of rule ids"),
    ("[tool.gitmig.lint]\nseverity = { drop-column = \"fatal\" }\n", "severity must map"),
    ("[tool.gitmig.lint]\nignore = []\n", "unknown key 'ignore'"),
])
def test_bad_lint_settings_are_refused(project: Project, text: str, words: str) -> None:
    from .conftest import assert_refused

    project.write("pyproject.toml", project.read("pyproject.toml") + "\n" + text)
    before_files = project.snapshot()
    line = assert_refused(project.gitmig("lint", "--all"), before_files, project.snapshot())
    assert words in line


@pytest.mark.parametrize(("key", "value", "words"), [
    ("lock_retries", "-1", "lock_retries"), ("lock_timeout", '"soon"', "lock_timeout"),
    ("safe", '"yes"', "safe"),
])
def test_bad_safe_settings_are_refused(project: Project, key: str, value: str,
                                       words: str) -> None:
    from .conftest import assert_refused

    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        "[tool.gitmig.apps]", f"{key} = {value}\n\n[tool.gitmig.apps]"))
    line = assert_refused(project.gitmig("makemigrations", "--no-input"))
    assert words in line
