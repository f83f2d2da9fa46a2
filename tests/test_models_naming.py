"""Migration names cut at a word boundary, never inside a table's or a column's name."""

from __future__ import annotations

import sqlalchemy as sa

from gitmig import ops
from gitmig.migrations.naming import MAX_SLUG, fit, suggest

from .conftest import Project


def add(table: str, column: str) -> ops.AddColumn:
    return ops.AddColumn(table, sa.Column(column, sa.Integer()))


def test_a_long_name_ends_with_a_whole_word() -> None:
    name = suggest([add("kitchen_recipe_ingredient_quantity", "recipe_scale_factor")],
                   initial=False)
    assert name == "kitchen_recipe_ingredient_quantity_add_recipe"
    assert len(name) <= MAX_SLUG


def test_a_cut_never_leaves_a_connecting_word_last() -> None:
    name = suggest([ops.RenameColumn("recipe_ingredient_quantities", "scale_factor",
                                     "recipe_scale_multiplier")], initial=False)
    assert name == "recipe_ingredient_quantities_rename_scale_factor"
    assert fit("post_add_x", 9) == "post"


def test_several_long_fragments_keep_and_more_after_whole_words() -> None:
    name = suggest([add("recipe_ingredient_quantity_history", "recipe_scale"),
                    add("post", "slug")], initial=False)
    assert name == "recipe_ingredient_quantity_history_and_more"
    assert len(name) <= MAX_SLUG


def test_one_word_longer_than_the_limit_is_still_cut() -> None:
    assert fit("x" * 80, MAX_SLUG) == "x" * MAX_SLUG


def test_makemigrations_names_the_file_with_whole_words(project: Project) -> None:
    project.write("blog/models.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Quantity(Base):
            __tablename__ = "kitchen_recipe_ingredient_quantity"
            id: Mapped[int] = mapped_column(primary_key=True)
        """)
    assert project.gitmig("makemigrations").exit_code == 0
    models = project.read("blog/models.py")
    project.write("blog/models.py", models + (
        "    recipe_scale_factor: Mapped[int | None] = mapped_column(sa.Integer)\n"))
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    assert project.migrations("blog")[-1] == (
        "0002_kitchen_recipe_ingredient_quantity_add_recipe.py"
    )
