"""makemigrations on a real terminal: the questions a person is asked, and their effect."""

from __future__ import annotations

import pytest

from .conftest import BASE, Project
from .terminal import run_in_terminal

# Questions answered on a pseudo-terminal: in the full run, not in `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

POST = BASE + """

class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    {column}
"""


def models(column: str) -> str:
    return POST.format(column=column)


def test_rename_is_asked_and_yes_writes_a_rename(project: Project) -> None:
    project.write(
        "blog/models.py", models("title: Mapped[str] = mapped_column(sa.String(80))")
    )
    assert project.gitmig("makemigrations").exit_code == 0
    project.write(
        "blog/models.py", models("headline: Mapped[str] = mapped_column(sa.String(80))")
    )
    code, out = run_in_terminal(
        ["makemigrations"], project.root,
        [("Did you rename post.title to post.headline? [y/N]", "y")],
    )
    assert code == 0, out
    assert "+ Rename column post.title to headline" in out
    assert project.migrations("blog")[-1] == "0002_post_rename_title_to_headline.py"


def test_rename_answered_no_drops_and_adds(project: Project) -> None:
    project.write(
        "blog/models.py", models("title: Mapped[str] = mapped_column(sa.String(80), nullable=True)")
    )
    assert project.gitmig("makemigrations").exit_code == 0
    project.write(
        "blog/models.py",
        models("headline: Mapped[str] = mapped_column(sa.String(80), nullable=True)"),
    )
    code, out = run_in_terminal(
        ["makemigrations"], project.root,
        [("Did you rename post.title to post.headline? [y/N]", "n")],
    )
    assert code == 0, out
    assert "+ Add column headline to post" in out
    assert "- Drop column title from post  (destructive: data is lost)" in out


def test_not_null_column_asks_for_a_value_for_existing_rows(project: Project) -> None:
    project.write(
        "blog/models.py", models("")
    )
    assert project.gitmig("makemigrations").exit_code == 0
    project.write(
        "blog/models.py", models("views: Mapped[int]")
    )
    code, out = run_in_terminal(
        ["makemigrations"], project.root,
        [("empty to stop and add a default to the model):", "0")],
    )
    assert code == 0, out
    assert "post.views is a new NOT NULL column without a default" in out
    text = project.read("blog/migrations/" + project.migrations("blog")[-1])
    assert "backfill=0" in text
