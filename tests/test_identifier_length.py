"""Names longer than the database allows: generated ones are shortened as SQLAlchemy's
create_all shortens them, given ones are refused by makemigrations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from .catalog import fresh_database
from .conftest import MYSQL_URL, POSTGRES_URL, Project, assert_refused

LONG = "a_table_whose_name_is_rather_long_but_fits"  # 42 characters
COL = "a_column_whose_name_is_also_long_enough"  # 39 characters

MODELS = f'''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention={{
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s_with_a_long_suffix_to_pass_the_limit",
    }})


class Parent(Base):
    __tablename__ = "{LONG}"
    id: Mapped[int] = mapped_column(primary_key=True)


class Child(Base):
    __tablename__ = "{LONG}_kid"
    __table_args__ = (
        sa.UniqueConstraint("{COL}", "other_column_with_a_long_name"),
        sa.CheckConstraint("{COL} >= 0", name="{COL}_positive"),
        sa.Index(None, "{COL}", "other_column_with_a_long_name"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id_with_a_long_name: Mapped[int] = mapped_column(sa.ForeignKey("{LONG}.id"))
    {COL}: Mapped[int] = mapped_column()
    other_column_with_a_long_name: Mapped[int] = mapped_column(index=True)
'''


@pytest.fixture
def postgres_url_other() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("GITMIG_TEST_POSTGRES_URL is not set")
    with fresh_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def mysql_url_other() -> Iterator[str]:
    if not MYSQL_URL:
        pytest.skip("GITMIG_TEST_MYSQL_URL is not set")
    with fresh_database(MYSQL_URL) as url:
        yield url


def _names(url: str) -> dict[str, Any]:
    engine = sa.create_engine(url)
    try:
        insp = sa.inspect(engine)
        out: dict[str, Any] = {}
        for t in sorted(insp.get_table_names()):
            if t == "gitmig_history" or t.startswith("gitmig"):
                continue
            out[t] = {
                "pk": insp.get_pk_constraint(t).get("name"),
                "ix": sorted(str(i["name"]) for i in insp.get_indexes(t)
                             if not i.get("duplicates_constraint")),
                "uq": sorted(str(u["name"]) for u in insp.get_unique_constraints(t)),
                "fk": sorted(str(f["name"]) for f in insp.get_foreign_keys(t)),
                "ck": sorted(str(c["name"]) for c in insp.get_check_constraints(t)),
            }
        return out
    finally:
        engine.dispose()


def _create_all(project: Project, url: str) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("idlen_models", project.root / "blog/models.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    engine = sa.create_engine(url)
    try:
        module.Base.metadata.create_all(engine)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", ["postgresql", "mysql"])
def test_long_generated_names_match_create_all(
    project: Project, kind: str, request: pytest.FixtureRequest
) -> None:
    fixture = {"postgresql": "postgres_url", "mysql": "mysql_url"}[kind]
    url = str(request.getfixturevalue(fixture))
    other = str(request.getfixturevalue(fixture + "_other"))
    project.write("blog/models.py", MODELS)
    env = {"GITMIG_DATABASE_URL": url}
    r = project.gitmig("makemigrations", env=env)
    assert r.exit_code == 0, r.output
    limit = 63 if kind == "postgresql" else 64
    source = project.read("blog/migrations/" + project.migrations("blog")[0])
    r = project.gitmig("migrate", env=env)
    assert r.exit_code == 0, r.output
    _create_all(project, other)
    migrated, created = _names(url), _names(other)
    assert migrated == created
    names = [n for t in migrated.values() for v in t.values()
             for n in (v if isinstance(v, list) else [v]) if n]
    # shortened as SQLAlchemy does: the first limit-8 characters, "_", four hex digits
    assert any(len(n) == limit - 3 and n[-5] == "_" for n in names), names
    assert all(len(n) <= limit for n in names), names
    assert "ix_" in source


def test_names_fit_postgresql_by_default(project: Project) -> None:
    project.write("blog/models.py", MODELS)
    r = project.gitmig("makemigrations")
    assert r.exit_code == 0, r.output
    source = project.read("blog/migrations/" + project.migrations("blog")[0])
    import re

    quoted = re.findall(r"[\"']([A-Za-z0-9_]+)[\"']", source)
    assert quoted and all(len(n) <= 63 for n in quoted), [n for n in quoted if len(n) > 63]


@pytest.mark.parametrize("what", ["table", "column"])
def test_too_long_table_or_column_is_refused(project: Project, what: str) -> None:
    name = "t" * 64
    table, column = (name, "x") if what == "table" else ("t", name)
    project.write("blog/models.py", f'''
        import sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class T(Base):
            __tablename__ = "{table}"
            id: Mapped[int] = mapped_column(primary_key=True)
            {column}: Mapped[int] = mapped_column()
        ''')
    before = project.snapshot()
    r = project.gitmig("makemigrations")
    line = assert_refused(r, before, project.snapshot())
    assert f"{what} name '{name}'" in line and "63" in line, line
