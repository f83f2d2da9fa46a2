"""Property: models drawn from issue 12's constructs, evolved step by step, migrate exactly.

After every step (`makemigrations` + `migrate`), the database's catalog must equal that of
`create_all` of the same models in a fresh database (tests/catalog.py), and Alembic's
`compare_metadata` must find nothing to change (tests/alembic_judge.py), on SQLite,
PostgreSQL and MariaDB; `migrate blog zero` then leaves an empty catalog.

The property runs over WORKING, the constructs each database can express through
`create_all` (MariaDB has no expression indexes and no named check inside a column's
definition); tests/test_idiom_models.py names the idioms one by one.
Examples per database come from the hypothesis profile (`HYPOTHESIS_PROFILE`); each one
runs gitmig several times, so the property is marked slow, and so are the examples
(tests/test_idiom_models.py shows the same failures in the default run).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from .alembic_judge import assert_alembic_agrees
from .catalog import (
    assert_same_catalog,
    create_all_of_modules,
    dump_catalog,
    fresh_database,
    is_empty,
)
from .strategies_constructs import CONSTRUCTS, Col, Model, evolutions

# The constructs gitmig migrates exactly today, per database family.
WORKING = {
    "sqlite": CONSTRUCTS,
    "postgresql": CONSTRUCTS,
    # MariaDB: create_all itself refuses expression indexes, and a named check inside a
    # column's definition (CONSTRAINT x CHECK ...), which a naming convention makes.
    "mysql": CONSTRUCTS - {"expression_index", "column_check"},
}

PYPROJECT = """
[project]
name = "proj"

[tool.gitmig]
database = "sqlite:///db.sqlite3"

[tool.gitmig.apps]
blog = "blog.models"
"""


def _gitmig(root: Path, url: str, *args: str) -> None:
    env = {**os.environ, "GITMIG_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "gitmig", *args], cwd=root, env=env,
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, f"gitmig {' '.join(args)}:\n{done.stdout}{done.stderr}"


def check_evolution(server_url: str, steps: list[Model]) -> None:
    """Migrate through every step, comparing catalogs after each, then back to zero."""
    with tempfile.TemporaryDirectory(prefix="gitmig-prop-") as tmp, \
            fresh_database(server_url) as url:
        root = Path(tmp)
        (root / "pyproject.toml").write_text(textwrap.dedent(PYPROJECT))
        (root / "blog").mkdir()
        (root / "blog" / "__init__.py").write_text("")
        for number, model in enumerate(steps, start=1):
            (root / "blog" / "models.py").write_text(model.source())
            answers = ([] if model.renamed is None else
                       ["--rename-enum-value", "item_state.{}={}".format(*model.renamed)])
            _gitmig(root, url, "makemigrations", "--no-input", "--name", f"step{number}",
                    *answers)
            _gitmig(root, url, "migrate")
            with fresh_database(server_url) as expected:
                create_all_of_modules(root, expected, "blog.models")
                try:
                    assert_same_catalog(url, expected, labels=("migrated", "create_all"))
                    assert_alembic_agrees(root, url, "blog.models")
                except AssertionError as failure:
                    raise AssertionError(f"after step {number}: {model}\n{failure}") from None
        _gitmig(root, url, "migrate", "blog", "zero")
        left = dump_catalog(url)
        assert is_empty(left), f"migrate blog zero left: {left}"


@pytest.mark.slow
@settings(max_examples=4)  # each example is several migrate runs in processes, ~6 s on CI
@given(data=st.data())
def test_evolutions_of_working_constructs_match_create_all(
    database_url: str, data: st.DataObject
) -> None:
    family = sa.engine.make_url(database_url).get_backend_name()
    steps = data.draw(evolutions(WORKING[family], family, min_steps=2, max_steps=3))
    check_evolution(database_url, steps)


# One deterministic example per construct gitmig got wrong before issue 12, with what went wrong.
PLAIN = (Col("title", "str", index="plain"),)
FAILING: dict[str, tuple[list[Model], dict[str, str]]] = {
    "guid_decorator": (
        [Model(columns=(*PLAIN, Col("ref", "guid", index="unique")))],
        {db: "Guid TypeDecorator written as sa.CHAR() without its per-dialect type"
         for db in ("sqlite", "postgresql", "mysql")},
    ),
    "variant_types": (
        [Model(columns=(*PLAIN, Col("body", "variant_text"), Col("rank", "variant_bigint")))],
        {"sqlite": "BigInteger().with_variant(Integer(), 'sqlite') migrated as BIGINT",
         "mysql": "Text().with_variant(MEDIUMTEXT(), 'mysql') migrated as TEXT"},
    ),
    "identity_key": (
        [Model(columns=PLAIN, identity=True)],
        {"postgresql": "Identity() migrated as a serial column (nextval default)"},
    ),
    "computed_column_added": (
        [Model(columns=PLAIN), Model(columns=PLAIN, computed=True)],
        {db: "Computed() column migrated as a plain column"
         for db in ("sqlite", "postgresql", "mysql")},
    ),
    "expression_index": (
        [Model(columns=(Col("title", "str", index="expression"),))],
        {db: "makemigrations refuses expression indexes (exit 2)"
         for db in ("sqlite", "postgresql")},
    ),
    "partial_index": (
        [Model(columns=(Col("title", "str", index="partial"),))],
        {"sqlite": "sqlite_where dropped: partial index migrated as a full one",
         "postgresql": "postgresql_where dropped: partial index migrated as a full one"},
    ),
    "column_check": (
        [Model(columns=(Col("rank", "int"),)),
         Model(columns=(Col("rank", "int", check=True),)),
         Model(columns=(Col("rank", "int", check=True),), convention=True),
         Model(columns=(Col("rank", "int"),), convention=True)],
        {db: "a CheckConstraint inside a column was dropped from the migrated table"
         for db in ("sqlite", "postgresql")},
    ),
    "enum_value_renamed": (
        [Model(columns=PLAIN, labels=("new", "open")),
         Model(columns=PLAIN, labels=("new", "open_4"), renamed=("open", "open_4"))],
        {db: "makemigrations did not detect an enum value rename"
         for db in ("sqlite", "postgresql", "mysql")},
    ),
    "convention_added": (
        [Model(columns=PLAIN), Model(columns=PLAIN, convention=True)],
        {db: "a naming convention added to existing models is refused or not renamed"
         for db in ("sqlite", "postgresql", "mysql")},
    ),
}


def failing_cases() -> list[object]:
    """Each example that failed before issue 12's fixes, as a regression test now."""
    return [pytest.param(name, db, id=f"{name}-{db}")
            for name, (_, reasons) in FAILING.items() for db in reasons]


FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.mark.slow
@pytest.mark.parametrize(("construct", "db"), failing_cases())
def test_construct_example_gitmig_gets_wrong(
    request: pytest.FixtureRequest, construct: str, db: str
) -> None:
    check_evolution(str(request.getfixturevalue(FIXTURES[db])), FAILING[construct][0])
