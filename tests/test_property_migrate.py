"""Random model evolutions, migrated on a real database, forwards and back to zero.

After every step, `makemigrations` then `migrate` must leave a database that reflects
exactly as `create_all` of the same models; walking back one migration at a time must
give each earlier step's schema again; `migrate blog zero` must leave no table behind.
Runs on SQLite, PostgreSQL and MariaDB (the `database_url` fixture).
"""

from __future__ import annotations

import os
import runpy
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings

from .conftest import Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)
from .strategies import evolutions

pytestmark = pytest.mark.slow  # random evolutions migrated on every database

PYPROJECT = """
[tool.gitmig.apps]
blog = "blog.models"
"""


def _expected(project: Project, scratch: str) -> dict[str, object]:
    metadata: sa.MetaData = runpy.run_path(str(project.root / "blog" / "models.py"))[
        "Base"
    ].metadata
    names = explicit_names(metadata)
    return create_all_schema(metadata, scratch, named=names) | {"names": sorted(names)}


def _actual(url: str, names: list[str]) -> dict[str, object]:
    return reflected_schema(url, named=names) | {"names": names}


@settings(max_examples=int(os.environ.get("GITMIG_PROPERTY_EXAMPLES", "5")))
@given(sources=evolutions(min_steps=2, max_steps=4))
def test_random_evolutions_migrate_to_create_all_and_back_to_zero(
    database_url: str, sources: list[str]
) -> None:
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(database_url) as url,
        scratch_database(database_url) as scratch,
    ):
        project = Project(Path(tmp) / "p")
        project.write("pyproject.toml", PYPROJECT)
        project.write("blog/__init__.py", "")
        history: list[tuple[str, dict[str, object]]] = []
        for source in sources:
            project.write("blog/models.py", source)
            r = project.gitmig("makemigrations", "--no-input")
            assert r.exit_code == 0, r.output
            r = project.gitmig("migrate", "--database", url, "--no-input")
            assert r.exit_code == 0, r.output
            expected = _expected(project, scratch)
            assert_same_schema(_actual(url, expected["names"]), expected)  # type: ignore[arg-type]
            history.append((project.migrations("blog")[-1][:4], expected))
        for target, expected in reversed(history[:-1]):
            r = project.gitmig("migrate", "blog", target, "--database", url, "--no-input")
            assert r.exit_code == 0, r.output
            assert_same_schema(_actual(url, expected["names"]), expected)  # type: ignore[arg-type]
        r = project.gitmig("migrate", "blog", "zero", "--database", url, "--no-input")
        assert r.exit_code == 0, r.output
        assert reflected_schema(url)["tables"] == {}
        assert reflected_schema(url).get("enums", {}) == {}
