"""A user's models evolving step by step, judged after each step against create_all.

Shared by the constraint, index, table and enum stories: write the models, run
`gitmig makemigrations` and `gitmig migrate` as a user would, then compare the database
with `metadata.create_all` of the same models in a scratch database; at the end,
`migrate blog zero` must leave no table (and on PostgreSQL no enum type) behind.
Judged twice: by reflection (tests/schema_compare.py) and by the catalog oracle read from
each database's system tables (tests/catalog.py).
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Sequence

import sqlalchemy as sa

from .catalog import catalog_diff, dump_catalog, is_empty
from .conftest import Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)

Hook = Callable[[sa.engine.Connection], None]


def metadata_of(project: Project) -> sa.MetaData:
    namespace = runpy.run_path(str(project.root / "blog" / "models.py"))
    base = namespace.get("Base")
    metadata = base.metadata if base is not None else namespace["metadata"]
    assert isinstance(metadata, sa.MetaData)
    return metadata


def step(project: Project, url: str, scratch: str, models: str, *args: str,
         schemas: Sequence[str] = ()) -> str:
    """One change of the models, migrated; returns the new migration's source text."""
    before = set(project.migrations("blog"))
    project.write("blog/models.py", models)
    made = project.gitmig("makemigrations", "--no-input", *args)
    assert made.exit_code == 0, made.output
    new = sorted(set(project.migrations("blog")) - before)
    assert new, f"no migration was written:\n{made.output}"
    result = project.gitmig("migrate", "--database", url)
    assert result.exit_code == 0, result.output
    metadata = metadata_of(project)
    names = explicit_names(metadata)
    migrated_indexes = index_catalog(url, names)
    migrated_tables = table_catalog(url)
    engine = sa.create_engine(scratch, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            metadata.create_all(conn)
        expected_indexes = index_catalog(scratch, names)
        expected_tables = table_catalog(scratch)
        expected_catalog = dump_catalog(scratch, unnamed=True)
        expected_other = {s: reflected_schema(scratch, schema=s) for s in schemas}
    finally:
        with engine.begin() as conn:
            metadata.drop_all(conn)
        engine.dispose()
    assert_same_schema(
        reflected_schema(url, named=names), create_all_schema(metadata, scratch, named=names)
    )
    assert migrated_indexes == expected_indexes
    assert migrated_tables == expected_tables
    diff = catalog_diff(dump_catalog(url, unnamed=True), expected_catalog)
    assert not diff, "catalogs differ (migrated vs create_all):\n  " + "\n  ".join(diff)
    for schema in schemas:
        assert_same_schema(reflected_schema(url, schema=schema), expected_other[schema])
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 0, check.output
    return project.read(f"blog/migrations/{new[-1]}")


def index_catalog(url: str, names: set[str]) -> dict[str, object]:
    """Each named index as the database itself describes it: what reflection leaves out
    (WHERE, USING, INCLUDE, operator classes, prefix lengths, DESC)."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            family = conn.dialect.name
            if family == "postgresql":
                rows = conn.execute(sa.text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE schemaname = current_schema()"
                ))
                return {r[0]: r[1] for r in rows if r[0] in names}
            if family == "sqlite":
                rows = conn.execute(sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                ))
                return {r[0]: " ".join(r[1].split()) for r in rows if r[0] in names}
            rows = conn.execute(sa.text(
                "SELECT index_name, seq_in_index, column_name, sub_part, collation, "
                "non_unique, index_type FROM information_schema.statistics "
                "WHERE table_schema = DATABASE() ORDER BY index_name, seq_in_index"
            ))
            out: dict[str, object] = {}
            for r in rows:
                if r[0] in names:
                    out.setdefault(r[0], []).append(tuple(r[1:]))  # type: ignore[attr-defined]
            return out
    finally:
        engine.dispose()


def table_catalog(url: str) -> dict[str, object]:
    """Table options reflection leaves out: MySQL engine and collations, SQLite's
    AUTOINCREMENT and WITHOUT ROWID."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            family = conn.dialect.name
            if family == "sqlite":
                rows = conn.execute(sa.text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
                ))
                return {r[0]: ("AUTOINCREMENT" in r[1].upper(), "WITHOUT ROWID" in r[1].upper())
                        for r in rows if not r[0].startswith(("sqlite_", "gitmig_"))}
            if family != "postgresql":
                rows = conn.execute(sa.text(
                    "SELECT t.table_name, t.engine, t.table_collation, c.column_name, "
                    "c.collation_name FROM information_schema.tables t JOIN "
                    "information_schema.columns c ON c.table_schema = t.table_schema AND "
                    "c.table_name = t.table_name WHERE t.table_schema = DATABASE() "
                    "AND t.table_name <> 'gitmig_migrations'"
                ))
                out: dict[str, object] = {}
                for r in rows:
                    entry = out.setdefault(r[0], {"engine": r[1], "collation": r[2]})
                    entry[r[3]] = r[4]  # type: ignore[index]
                return out
            return {}
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> list[sa.Row[object]]:
    """Run SQL on the database; the rows of the last statement."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            rows: list[sa.Row[object]] = []
            for s in statements:
                result = conn.execute(sa.text(s))
                rows = list(result) if result.returns_rows else []
            return rows
    finally:
        engine.dispose()


def story(
    project: Project,
    url: str,
    versions: Sequence[str],
    *,
    after: dict[int, Hook] | None = None,
    setup: Sequence[str] = (),
    schemas: Sequence[str] = (),
) -> list[str]:
    """Migrate through every version of the models; `after[i]` runs once version i is in.

    Returns each step's migration text; ends by unapplying everything.
    """
    texts = []
    with scratch_database(url) as scratch:
        if setup:
            execute(url, *setup)
            execute(scratch, *setup)
        for i, models in enumerate(versions):
            texts.append(step(project, url, scratch, models, schemas=schemas))
            if after and i in after:
                engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
                try:
                    with engine.begin() as conn:
                        after[i](conn)
                finally:
                    engine.dispose()
    assert_empty_after_zero(project, url, schemas)
    return texts


def assert_empty_after_zero(project: Project, url: str, schemas: Sequence[str] = ()) -> None:
    zero = project.gitmig("migrate", "blog", "zero", "--database", url)
    assert zero.exit_code == 0, zero.output
    for schema in (None, *schemas):
        left = reflected_schema(url, schema=schema)
        assert left["tables"] == {}, left["tables"]
        assert left.get("enums", {}) == {}, left["enums"]
    catalog = dump_catalog(url)
    catalog.pop("schemas", None)  # the test made them; gitmig leaves them alone
    assert is_empty(catalog), catalog
