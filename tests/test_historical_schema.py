"""Data migrations get the schema as of their point in the history (`def forwards(conn,
schema)`), so they keep running while the models move on; one-argument functions keep working.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .test_migrate import applied, migrate

POST_V1 = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
"""
SLUG = "    slug: Mapped[str | None] = mapped_column(sa.String(200))\n"

FILL_SLUGS = '''

def fill_slugs(conn, schema):
    post = schema.tables["post"]
    assert sorted(post.c.keys()) == ["id", "slug", "title"], sorted(post.c.keys())
    for row in conn.execute(sa.select(post.c.id, post.c.title)).all():
        conn.execute(post.update().where(post.c.id == row.id)
                     .values(slug=row.title.lower().replace(" ", "-")))


def clear_slugs(conn, schema):
    conn.execute(schema.tables["post"].update().values(slug=None))


def count_posts(conn):
    """Written with one argument, as before historical schemas existed."""
    assert conn.execute(sa.text("SELECT count(*) FROM post")).scalar() >= 0
'''


def models(project: Project, body: str) -> None:
    project.write("blog/models.py", BASE + body)


def make(project: Project, *args: str) -> None:
    result = project.gitmig("makemigrations", "--no-input", *args)
    assert result.exit_code == 0, result.output


def write_data_migration(project: Project) -> str:
    """An empty migration filled by hand, as a user writes one."""
    make(project, "--empty", "-n", "fill_slugs")
    name = project.migrations("blog")[-1]
    path = project.root / "blog" / "migrations" / name
    text = path.read_text()
    head, _, _ = text.partition("operations = [")
    path.write_text(head + FILL_SLUGS + "\n\noperations = [\n"
                    "    ops.RunPython(fill_slugs, clear_slugs),\n"
                    "    ops.RunPython(count_posts, ops.RunPython.noop),\n]\n")
    return name[:-3]


def test_data_migration_runs_after_the_models_change_three_times(
    project: Project, sqlite_url: str
) -> None:
    models(project, POST_V1)
    make(project)
    models(project, POST_V1 + SLUG)
    make(project)
    data = write_data_migration(project)
    # Three changes later the model has no `title` nor `slug` as the data migration knew them.
    models(project, POST_V1.replace("title", "headline") + SLUG)
    make(project, "--rename", "post.title=headline")
    models(project, POST_V1.replace("title", "headline"))
    make(project)
    models(project, POST_V1.replace("title", "headline")
           + "    body: Mapped[str | None] = mapped_column(sa.Text)\n")
    make(project)
    assert len(project.migrations("blog")) == 6

    migrate(project, sqlite_url, "blog", "0002")
    engine = sa.create_engine(sqlite_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO post (id, title) VALUES (1, 'Hello World')"))
    result = migrate(project, sqlite_url)
    assert f"Applying blog.{data}... OK" in result.stdout
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, headline FROM post")).all()
    assert [tuple(r) for r in rows] == [(1, "Hello World")]
    assert ("blog", data) in applied(sqlite_url)

    # Backwards through it: the reverse gets the schema too (slug back in place first).
    migrate(project, sqlite_url, "blog", "0002")
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, title, slug FROM post")).all()
    assert [tuple(r) for r in rows] == [(1, "Hello World", None)]
    # And forwards again, from where the first run started.
    migrate(project, sqlite_url, "blog", data[:4])
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT slug FROM post")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("hello-world",)]
