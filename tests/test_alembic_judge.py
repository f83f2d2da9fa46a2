"""The second judge itself: it must see a real difference, and forgive only the false ones."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from .alembic_judge import _known_false, alembic_differences, assert_alembic_agrees
from .conftest import Project

MODELS = """
import sqlalchemy as sa

metadata = sa.MetaData()
post = sa.Table(
    "post", metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(80), nullable=False),
)
"""


@pytest.mark.slow  # Alembic in a fresh interpreter, twice
def test_a_missing_column_is_a_difference(project: Project, sqlite_url: str) -> None:
    project.write("blog/models.py", MODELS)
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE post (id INTEGER NOT NULL PRIMARY KEY)"))
    engine.dispose()
    found = alembic_differences(project.root, sqlite_url, "blog.models")
    assert [(d["kind"], d.get("table")) for d in found] == [("add_column", "post")]
    with pytest.raises(AssertionError, match="compare_metadata finds differences"):
        assert_alembic_agrees(project.root, sqlite_url, "blog.models")


def test_only_the_known_false_reports_are_forgiven() -> None:
    identity = {"kind": "modify_default", "text": "(... None, Identity())",
                "defaults": [None, "Identity()"]}
    assert _known_false(identity, "sqlite") and _known_false(identity, "mysql")
    assert not _known_false(identity, "postgresql")
    spelled = {"kind": "modify_default", "text": "...",
               "defaults": ["current_timestamp()", "now()"]}
    assert _known_false(spelled, "mysql")
    assert _known_false({**spelled, "defaults": ["0.000", "0"]}, "mysql")
    assert not _known_false({**spelled, "defaults": ["1", "2"]}, "mysql")
    assert not _known_false(spelled, "postgresql")
