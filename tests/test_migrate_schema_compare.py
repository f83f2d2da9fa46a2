"""The comparison the round-trip promise rests on: it sees differences, and only those.

`reflected_schema` must call two schemas equal when they differ only in how they were
made (ALTER after CREATE, a renamed table, column order, names the database invented),
and must report every difference the models could make.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa

from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    schema_diff,
    scratch_database,
)


def shop(
    nullable: bool = False,
    title: sa.types.TypeEngine = sa.String(100),  # noqa: B008 - a fresh default per call
    ondelete: str | None = "CASCADE",
    default: str | None = "0",
    unique_index: bool = False,
    comment: str | None = "orders",
    with_uniques: bool = True,
) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "customer", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("kind", sa.Enum("a", "b", name="kind"), nullable=True),
        *([sa.UniqueConstraint("name")] if with_uniques else []),
    )
    sa.Table(
        "order", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer.id", ondelete=ondelete),
                  nullable=nullable),
        sa.Column("title", title, nullable=False),
        sa.Column("total", sa.Integer, nullable=False, server_default=default),
        sa.CheckConstraint("total >= 0", name="ck_total"),
        sa.Index("ix_order_title", "title", unique=unique_index),
        comment=comment,
    )
    return md


def _made_the_long_way(url: str) -> None:
    """The same schema as shop(), by ALTERs, renames and another column order."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    family = engine.dialect.name
    q = engine.dialect.identifier_preparer.quote
    with engine.begin() as conn:
        x = conn.exec_driver_sql
        if family == "postgresql":
            x("CREATE TYPE kind AS ENUM ('a', 'b')")
        kind = {"postgresql": "kind", "mysql": "ENUM('a','b')"}.get(family, "VARCHAR(1)")
        pk = {"postgresql": "SERIAL", "mysql": "INTEGER AUTO_INCREMENT"}.get(family, "INTEGER")
        x(f"CREATE TABLE customer (kind {kind}, name VARCHAR(50) NOT NULL, id {pk} NOT NULL, "
          "PRIMARY KEY (id)" + (", UNIQUE (name)" if family == "sqlite" else "") + ")")
        if family == "sqlite":
            x(f"CREATE TABLE {q('order')} (total INTEGER DEFAULT '0' NOT NULL, "
              "title VARCHAR(100) NOT NULL, customer_id INTEGER NOT NULL, "
              "id INTEGER NOT NULL PRIMARY KEY, "
              "FOREIGN KEY(customer_id) REFERENCES customer (id) ON DELETE CASCADE, "
              "CONSTRAINT ck_total CHECK (total >= 0))")
        else:
            x(f"CREATE TABLE draft (id {pk} NOT NULL, PRIMARY KEY (id))")
            x(f"ALTER TABLE draft RENAME TO {q('order')}")
            for column in ("customer_id INTEGER NOT NULL", "title VARCHAR(100) NOT NULL",
                           "total INTEGER NOT NULL DEFAULT '0'"):
                x(f"ALTER TABLE {q('order')} ADD COLUMN {column}")
            x("ALTER TABLE customer ADD UNIQUE (name)")
            x(f"ALTER TABLE {q('order')} ADD FOREIGN KEY (customer_id) REFERENCES customer (id) "
              "ON DELETE CASCADE")
            x(f"ALTER TABLE {q('order')} ADD CONSTRAINT ck_total CHECK (total >= 0)")
            comment = ("COMMENT ON TABLE {t} IS 'orders'" if family == "postgresql"
                       else "ALTER TABLE {t} COMMENT 'orders'")
            x(comment.format(t=q("order")))
        x(f"CREATE INDEX ix_order_title ON {q('order')} (title)")
    engine.dispose()


@pytest.mark.slow
def test_schemas_made_differently_compare_equal(database_url: str) -> None:
    _made_the_long_way(database_url)
    with scratch_database(database_url) as scratch:
        expected = create_all_schema(shop(), scratch)
        assert reflected_schema(scratch)["tables"] == {}  # create_all_schema cleans up
    names = explicit_names(shop())
    with scratch_database(database_url) as scratch:
        expected_named = create_all_schema(shop(), scratch, named=names)

    actual = reflected_schema(database_url)
    assert set(actual["tables"]) == {"customer", "order"}
    assert_same_schema(actual, expected)
    assert_same_schema(reflected_schema(database_url, named=names), expected_named)


CHANGES: dict[str, tuple[Callable[[], sa.MetaData], str | tuple[str, ...]]] = {
    "nullable": (lambda: shop(nullable=True), "tables.order.columns.customer_id.nullable"),
    "type": (lambda: shop(title=sa.String(120)), "tables.order.columns.title.type"),
    "default": (lambda: shop(default="1"), "tables.order.columns.total.default"),
    "ondelete": (lambda: shop(ondelete=None), "tables.order.foreign_keys"),
    # MariaDB has no unique index apart from a unique constraint: it reflects as one.
    "unique index": (lambda: shop(unique_index=True),
                     ("tables.order.indexes", "tables.order.unique_constraints")),
    "unique constraint": (lambda: shop(with_uniques=False),
                          "tables.customer.unique_constraints"),
}


@pytest.mark.slow
@pytest.mark.parametrize("change", list(CHANGES))
def test_every_difference_is_reported(database_url: str, change: str) -> None:
    make, path = CHANGES[change]
    with scratch_database(database_url) as scratch:
        base = create_all_schema(shop(), scratch)
        other = create_all_schema(make(), scratch)
    diff = schema_diff(other, base)
    assert diff and all(line.startswith(path) for line in diff), diff


@pytest.mark.slow
def test_comments_and_leftover_enum_types_are_reported(database_url: str) -> None:
    engine = sa.create_engine(database_url, poolclass=sa.pool.NullPool)
    with scratch_database(database_url) as scratch:
        base = create_all_schema(shop(), scratch)
        other = create_all_schema(shop(comment="purchases"), scratch)
        if engine.dialect.name == "postgresql":
            with sa.create_engine(scratch).begin() as conn:
                conn.exec_driver_sql("CREATE TYPE kind AS ENUM ('a')")
            assert schema_diff(reflected_schema(scratch), {"tables": {}, "enums": {}}) == [
                "enums.kind: only in actual: ['a']"]
    engine.dispose()
    diff = schema_diff(other, base)
    if sa.engine.make_url(database_url).get_backend_name() == "sqlite":
        assert diff == []  # SQLite keeps no comments
    else:
        assert diff == ["tables.order.comment: actual 'purchases' != expected 'orders'"]
