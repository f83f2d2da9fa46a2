"""Squash over random histories (5 to 30 model changes) on SQLite, PostgreSQL and MariaDB:
the squashed migration replays to the models, is never longer than the originals, migrates
an empty database to the catalog the originals give, and a database left at a random point
of the old history migrates to the end."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .catalog import assert_same_catalog, fresh_database
from .conftest import Project
from .strategies import evolutions

pytestmark = pytest.mark.slow  # up to 30 makemigrations and four databases per example

PYPROJECT = """
[tool.gitmig.apps]
blog = "blog.models"
"""
FOLDED = re.compile(r"(\d+) operations folded into (\d+)$", re.M)


@settings(max_examples=int(os.environ.get("GITMIG_PROPERTY_EXAMPLES", "3")))
@given(sources=evolutions(min_steps=5, max_steps=30), point=st.floats(0, 1))
def test_squashed_random_histories_migrate_like_the_originals(
    database_url: str, sources: list[str], point: float
) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        fresh_database(database_url) as original,
        fresh_database(database_url) as midway,
        fresh_database(database_url) as empty,
    ):
        project = Project(Path(tmp) / "p")
        project.write("pyproject.toml", PYPROJECT)
        project.write("blog/__init__.py", "")
        for source in sources:
            project.write("blog/models.py", source)
            r = project.gitmig("makemigrations", "--no-input")
            assert r.exit_code == 0, r.output
        names = [n[:4] for n in project.migrations("blog")]
        if len(names) < 2:
            return
        r = project.gitmig("migrate", "--database", original)
        assert r.exit_code == 0, r.output
        at = names[min(int(point * len(names)), len(names) - 1)]
        r = project.gitmig("migrate", "blog", at, "--database", midway)
        assert r.exit_code == 0, r.output

        r = project.gitmig("squash", "blog", names[-1])
        assert r.exit_code == 0, r.output
        found = FOLDED.search(r.stdout)
        assert found and int(found[2]) <= int(found[1]), r.stdout
        assert len(project.migrations("blog")) == len(names) + 1
        check = project.gitmig("makemigrations", "--check", "--no-input")
        assert check.exit_code == 0, check.output  # the squash replays to the models

        for url in (empty, midway, original):
            r = project.gitmig("migrate", "--database", url)
            assert r.exit_code == 0, r.output
            assert "warning" not in r.output, r.output
        assert_same_catalog(empty, original, labels=("squash", "originals"))
        assert_same_catalog(midway, original, labels=(f"from {at}", "originals"))
