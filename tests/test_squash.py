"""`gitmig squash` end to end on SQLite: the squashed file, databases at every point of the
old history migrating to the end, data migrations, other apps re-pointed, `--finish`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .catalog import assert_same_catalog
from .conftest import BASE, Project, assert_refused
from .test_migrate import applied, migrate

POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(20))
"""


def models(project: Project, body: str) -> None:
    project.write("blog/models.py", BASE + body)


def make(project: Project, *args: str) -> None:
    result = project.gitmig("makemigrations", "--no-input", *args)
    assert result.exit_code == 0, result.output


def history(project: Project) -> None:
    """Five migrations: a table, a column added, altered, indexed, renamed."""
    models(project, POST)
    make(project)
    models(project, POST + "    slug: Mapped[str | None] = mapped_column(sa.String(50))\n")
    make(project)
    models(project, POST + "    slug: Mapped[str | None] = mapped_column(sa.String(80))\n")
    make(project)
    models(project, POST + "    slug: Mapped[str | None] = mapped_column(sa.String(80), "
           "index=True)\n")
    make(project)
    models(project, POST.replace("title", "headline")
           + "    slug: Mapped[str | None] = mapped_column(sa.String(80), index=True)\n")
    make(project, "--rename", "post.title=headline")
    assert len(project.migrations("blog")) == 5


def names(project: Project) -> list[str]:
    return [n[:-3] for n in project.migrations("blog")]


def test_squash_writes_one_migration_that_replaces_the_stretch(project: Project) -> None:
    history(project)
    originals = names(project)
    result = project.gitmig("squash", "blog", "0005")
    assert result.exit_code == 0, result.output
    squashed = "0001_squashed_0005_post_rename_title_to_headline"
    assert result.stdout.splitlines()[0] == (
        f"Wrote blog/migrations/{squashed}.py: replaces 5 migrations "
        f"({originals[0]} to {originals[-1]}), 5 operations folded into 1")
    assert "gitmig squash --finish blog" in result.stdout
    text = project.read(f"blog/migrations/{squashed}.py")
    assert "parents = []\nreplaces = [\n" in text
    for name in originals:
        assert f'"{name}"' in text
    assert text.count("ops.CreateTable(") == 1 and "ops.AddColumn" not in text
    assert '"headline"' in text and "ix_post_slug" in text
    # Nothing is pending, one leaf, and the lock file agrees.
    check = project.gitmig("makemigrations", "--check", "--no-input")
    assert check.exit_code == 0, check.output
    shown = project.gitmig("showmigrations", "blog")
    assert shown.exit_code == 0, shown.output
    assert squashed in shown.stdout
    status = project.gitmig("conflicts")
    assert status.exit_code == 0, status.output


@pytest.mark.slow  # seven databases, about 2 s
def test_databases_at_every_point_migrate_to_the_end_after_the_squash(project: Project) -> None:
    history(project)
    originals = names(project)
    urls = [f"sqlite:///{project.root / f'at{i}.sqlite3'}" for i in range(6)]
    for i, url in enumerate(urls):  # at0: empty ... at5: all five applied
        if i:
            migrate(project, url, "blog", originals[i - 1][:4])
    reference = f"sqlite:///{project.root / 'reference.sqlite3'}"
    migrate(project, reference)
    lacking = f"sqlite:///{project.root / 'lacking.sqlite3'}"
    migrate(project, lacking, "blog", originals[1][:4])
    assert project.gitmig("squash", "blog", "0005").exit_code == 0
    squashed = [n for n in names(project) if "squashed" in n][0]
    for i, url in enumerate(urls):
        result = migrate(project, url)
        if i == 0:
            lines = result.stdout.splitlines()
            assert len(lines) == 1 and lines[0].startswith(f"Applying blog.{squashed}... OK")
        else:
            assert squashed not in result.stdout  # the rest of the originals, not the squash
            for name in originals[i:]:
                assert f"Applying blog.{name}..." in result.stdout
        assert "warning" not in result.output
        assert ("blog", squashed) in applied(url)
        assert_same_catalog(url, reference, labels=(f"at{i}", "reference"))
        again = migrate(project, url)
        assert "Applying" not in again.stdout and "warning" not in again.output
    # Back to zero through the squash takes the originals' rows with it.
    migrate(project, urls[5], "blog", "zero")
    assert applied(urls[5]) == []
    # --finish refuses while a database lacks the squash, and changes nothing.
    before = project.snapshot()
    refused = project.gitmig("squash", "--finish", "blog", "--database", urls[1],
                             "--database", lacking)
    assert "lacking.sqlite3 has not applied blog." + squashed in assert_refused(
        refused, before, project.snapshot())
    migrate(project, lacking)
    done = project.gitmig("squash", "--finish", "blog", "--database", urls[1],
                          "--database", lacking)
    assert done.exit_code == 0, done.output
    assert names(project) == [squashed]
    assert "replaces" not in project.read(f"blog/migrations/{squashed}.py")
    for url in (urls[1], lacking):
        result = migrate(project, url)
        assert result.output == "No migrations to apply.\n", result.output
        assert applied(url) == [("blog", squashed)]
    fresh = f"sqlite:///{project.root / 'fresh.sqlite3'}"
    migrate(project, fresh)
    assert_same_catalog(fresh, reference)


FILL = '''

def fill(conn, schema):
    post = schema.tables["post"]
    conn.execute(post.update().values(slug="s-" + post.c.title))
'''


def test_code_stops_a_squash_unless_kept_and_then_runs_in_order(project: Project) -> None:
    models(project, POST)
    make(project)
    models(project, POST + "    slug: Mapped[str | None] = mapped_column(sa.String(50))\n")
    make(project)
    make(project, "--empty", "-n", "fill")
    path = project.root / "blog" / "migrations" / project.migrations("blog")[-1]
    head = path.read_text().partition("\noperations")[0]
    path.write_text(head + FILL + "\n\noperations = [ops.RunPython(fill, ops.RunPython.noop)]\n")
    models(project, POST + "    slug: Mapped[str] = mapped_column(sa.String(50), "
           "server_default='x')\n")
    make(project)
    before = project.snapshot()
    refused = project.gitmig("squash", "blog", "0004")
    message = assert_refused(refused, before, project.snapshot())
    assert "blog.0003_fill runs code (Run Python: fill)" in message
    assert "--keep-data-migrations" in message

    # A database at 0001 with a row: it applies the squash of 0002..0004, copied code too.
    url = f"sqlite:///{project.root / 'data.sqlite3'}"
    migrate(project, url, "blog", "0001")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO post (id, title) VALUES (1, 'a')"))
    kept = project.gitmig("squash", "blog", "0002", "0004", "--keep-data-migrations")
    assert kept.exit_code == 0, kept.output
    squashed = [n for n in project.migrations("blog") if "squashed" in n][0]
    text = project.read(f"blog/migrations/{squashed}")
    assert "def fill(conn, schema):" in text
    assert (text.index("ops.AddColumn") < text.index("ops.RunPython(fill, ops.RunPython.noop)")
            < text.index("ops.AlterColumn"))
    result = migrate(project, url)
    assert result.stdout.startswith(f"Applying blog.{squashed[:-3]}... OK")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT slug FROM post")).scalar() == "s-a"
    engine.dispose()


@pytest.mark.slow  # two apps, six makemigrations: about 1 s
def test_other_apps_that_pointed_at_an_original_point_at_the_squash(project: Project) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml")
                  + 'shop = "shop.models"\n')
    project.write("shop/__init__.py", "")
    project.write("shop/models.py", "from blog.models import Base  # noqa: F401\n")
    history(project)
    project.write("shop/models.py", BASE.replace(
        "class Base(DeclarativeBase):\n    pass", "from blog.models import Base") + """
class Order(Base):
    __tablename__ = "order"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"))
""")
    make(project)
    order = sorted((project.root / "shop" / "migrations").glob("0001_*.py"))[0]
    assert '"blog.0005_post_rename_title_to_headline"' in order.read_text()
    result = project.gitmig("squash", "blog", "0002", "0005", "--name", "slugs")
    assert result.exit_code == 0, result.output
    assert "Re-pointed shop.0001_initial at blog.0002_slugs" in result.stdout
    assert 'parents = ["blog.0002_slugs"]' in order.read_text()
    url = f"sqlite:///{project.root / 'apps.sqlite3'}"
    out = migrate(project, url).stdout
    assert out.index("blog.0002_slugs") < out.index("shop.0001_initial")
    assert "blog.0003" not in out


def test_bad_ranges_are_refused(project: Project) -> None:
    history(project)
    before = project.snapshot()
    for args, words in [
        (["0004", "0002"], "does not come before"),
        (["0003", "0003"], "nothing to squash"),
        (["0009"], "has no migration '0009'"),
        (["0005", "--name", "Bad Name"], "is not a plain name"),
        (["--finish"], "no squashed migration"),
        ([], "give TO, or FROM and TO"),
        (["0005", "--name", "initial"], "exists already"),
    ]:
        message = assert_refused(project.gitmig("squash", "blog", *args), before,
                                 project.snapshot())
        assert words in message, message


LATE = '''"""post: add score"""
import sqlalchemy as sa

from gitmig import ops

parents = ["0005_post_rename_title_to_headline"]
operations = [ops.AddColumn("post", sa.Column("score", sa.Integer(), nullable=True))]
'''


@pytest.mark.slow  # four databases read and migrated: about 1 s
def test_history_read_through_the_squash_and_a_late_child_of_an_original(
    project: Project,
) -> None:
    """showmigrations and status count the squash as applied where the originals are; a
    migration written (on another branch) after an original follows the squash."""
    history(project)
    url = f"sqlite:///{project.root / 'old.sqlite3'}"
    migrate(project, url)
    assert project.gitmig("squash", "blog", "0005").exit_code == 0
    squashed = [n for n in names(project) if "squashed" in n][0]
    shown = project.gitmig("showmigrations", "blog", "--database", url)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == ["blog", f" [X] {squashed}"]
    status = project.gitmig("status", "--database", url)
    assert "not applied" not in status.output and "missing" not in status.output, status.output

    project.write("blog/migrations/0006_post_add_score.py", LATE)
    models(project, POST.replace("title", "headline")
           + "    slug: Mapped[str | None] = mapped_column(sa.String(80), index=True)\n"
           + "    score: Mapped[int | None] = mapped_column()\n")
    shown = project.gitmig("showmigrations", "blog", "--database", url)
    assert shown.stdout.splitlines() == ["blog", f" [X] {squashed}",
                                         " [ ] 0006_post_add_score"]
    check = project.gitmig("makemigrations", "--check", "--no-input")
    assert check.exit_code == 0, check.output  # one leaf: the late child follows the squash
    result = migrate(project, url)
    assert result.stdout.startswith("Applying blog.0006_post_add_score... OK")
    assert squashed not in result.stdout
    fresh = f"sqlite:///{project.root / 'fresh.sqlite3'}"
    first = migrate(project, fresh).stdout.splitlines()
    assert [line.split("...")[0] for line in first] == [
        f"Applying blog.{squashed}", "Applying blog.0006_post_add_score"]
    finished = project.gitmig("squash", "--finish", "blog", "--database", url,
                              "--database", fresh)
    assert finished.exit_code == 0, finished.output
    assert f'parents = ["{squashed}"]' in project.read("blog/migrations/0006_post_add_score.py")
    assert names(project) == [squashed, "0006_post_add_score"]


def test_makemigrations_after_a_squash_numbers_after_the_originals(project: Project) -> None:
    history(project)
    assert project.gitmig("squash", "blog", "0005").exit_code == 0
    models(project, POST.replace("title", "headline")
           + "    slug: Mapped[str | None] = mapped_column(sa.String(80), index=True)\n"
           + "    score: Mapped[int | None] = mapped_column()\n")
    make(project)
    assert names(project)[-1] == "0006_post_add_score"
    assert 'parents = ["0001_squashed_0005_post_rename_title_to_headline"]' in project.read(
        "blog/migrations/0006_post_add_score.py")
