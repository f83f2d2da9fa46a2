"""Drawn model histories over the constructs of this area, on the three databases.

The strategy (tests/strategies_constructs.py) evolves a table through a naming convention
switched on and off, partial and expression indexes, plain and unique indexes, and a
native enum that gains values; after every step the migrated database must equal
create_all's (reflection and catalog oracle), rows of earlier steps kept, and
`migrate blog zero` must leave nothing behind.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from .conftest import Project, blog_project
from .constraint_story import story
from .strategies_constructs import Model, evolutions

CONSTRUCTS = {"convention", "partial_index", "expression_index", "enum"}


def _project(root: Path) -> Project:
    return blog_project(root / f"proj_{uuid.uuid4().hex[:8]}")


def _distinct(history: list[Model]) -> list[str]:
    out: list[str] = []
    for model in history:
        source = model.source()
        if not out or out[-1] != source:
            out.append(source)
    return out


def _rows(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO owner (id, name) VALUES (1, 'o')"))


def _forget(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("DELETE FROM owner"))


@pytest.mark.slow
@pytest.mark.parametrize("family", ["sqlite", "postgresql", "mysql"])
def test_drawn_histories_match_create_all(
    family: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}
    url = str(request.getfixturevalue(fixture[family]))

    @settings(max_examples=5)
    @given(history=st.data())
    def run(history: st.DataObject) -> None:
        versions = _distinct(history.draw(evolutions(CONSTRUCTS, family, 2, 3)))
        if len(versions) < 2:
            return
        story(_project(tmp_path), url, versions,
              after={0: _rows, len(versions) - 1: _forget})

    run()
