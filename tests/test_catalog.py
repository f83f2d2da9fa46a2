"""The oracle itself: equal schemas compare equal, and each small difference is seen.

`tests/catalog.py` is the judge of every idiom and property test; a judge that misses a
one-character type length or a lost primary key would pass gitmig's worst bugs. Each
difference below is made on two fresh databases of the same server, on SQLite,
PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from .catalog import (
    UNNAMED,
    assert_same_catalog,
    catalog_diff,
    create_all,
    dump_catalog,
    fresh_database,
    is_empty,
)


def shop(
    title_length: int = 100,
    with_index: bool = True,
    labels: tuple[str, ...] = ("draft", "sent"),
    with_pk: bool = True,
    reorder: bool = False,
) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "customer", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False, unique=True),
    )
    columns: list[sa.Column[Any]] = [
        sa.Column("id", sa.Integer, primary_key=with_pk, autoincrement=with_pk),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customer.id", ondelete="CASCADE")),
        sa.Column("title", sa.String(title_length), nullable=False, server_default="x"),
        sa.Column("state", sa.Enum(*labels, name="order_state", create_constraint=True)),
        sa.Column("total", sa.Numeric(10, 2)),
    ]
    if reorder:
        columns.reverse()
    sa.Table(
        "purchase", md, *columns,
        sa.CheckConstraint("total >= 0", name="ck_purchase_total"),
        *([sa.Index("ix_purchase_title", "title")] if with_index else []),
    )
    return md


def _catalogs(url: str, a: sa.MetaData, b: sa.MetaData, unnamed: bool = False) -> list[str]:
    with fresh_database(url) as first, fresh_database(url) as second:
        create_all(a, first)
        create_all(b, second)
        return catalog_diff(
            dump_catalog(first, unnamed=unnamed), dump_catalog(second, unnamed=unnamed)
        )


def test_the_same_schema_compares_equal_whatever_the_column_order(database_url: str) -> None:
    assert _catalogs(database_url, shop(), shop(reorder=True)) == []
    with fresh_database(database_url) as first, fresh_database(database_url) as second:
        create_all(shop(), first)
        create_all(shop(reorder=True), second)
        assert_same_catalog(first, second)
        catalog = dump_catalog(first)
        assert set(catalog["tables"]) == {"customer", "purchase"}
        assert set(catalog["tables"]["purchase"]["columns"]) == {
            "id", "customer_id", "title", "state", "total",
        }


DIFFERENCES: dict[str, Callable[[], sa.MetaData]] = {
    "type length": lambda: shop(title_length=101),
    "missing index": lambda: shop(with_index=False),
    "enum label order": lambda: shop(labels=("sent", "draft")),
    "missing primary key": lambda: shop(with_pk=False),
}


@pytest.mark.parametrize("change", list(DIFFERENCES))
def test_a_small_difference_compares_unequal(database_url: str, change: str) -> None:
    diff = _catalogs(database_url, shop(), DIFFERENCES[change]())
    assert diff, f"{change} was not seen"
    # Only the purchase table (its text, indexes) or its enum type differ.
    assert all("purchase" in line or line.startswith("enums.order_state") for line in diff), diff


def test_assert_same_catalog_names_the_difference(database_url: str) -> None:
    with fresh_database(database_url) as first, fresh_database(database_url) as second:
        create_all(shop(), first)
        create_all(shop(title_length=101), second)
        with pytest.raises(AssertionError) as failure:
            assert_same_catalog(first, second, labels=("migrated", "create_all"))
    message = str(failure.value)
    assert "catalogs differ (migrated vs create_all)" in message
    assert "tables.purchase.columns.title" in message
    assert "100" in message and "101" in message


def test_history_table_is_left_out_and_an_empty_database_is_empty(database_url: str) -> None:
    md = sa.MetaData()
    sa.Table("gitmig_migrations", md, sa.Column("id", sa.Integer, primary_key=True))
    with fresh_database(database_url) as url:
        assert is_empty(dump_catalog(url))
        create_all(md, url)
        assert is_empty(dump_catalog(url))
        create_all(shop(), url)
        assert not is_empty(dump_catalog(url))


def test_a_type_left_behind_is_not_empty(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        conn.exec_driver_sql("CREATE SEQUENCE counter START 5")
    engine.dispose()
    catalog = dump_catalog(postgres_url)
    assert catalog["enums"] == {"mood": ["sad", "ok"]}
    assert catalog["sequences"]["counter"]["start"] == 5
    assert not is_empty(catalog)


def unnamed_unique(name: str | None) -> sa.MetaData:
    md = sa.MetaData()
    sa.Table(
        "tag", md,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.String(20)),
        sa.UniqueConstraint("label", name=name),
    )
    return md


def test_invented_names_are_compared_unless_the_flag_says_unnamed(postgres_url: str) -> None:
    # PostgreSQL names an unnamed unique constraint tag_label_key; a model that names it
    # so is the same catalog, but one that names it otherwise is not, even with the flag.
    assert _catalogs(postgres_url, unnamed_unique(None), unnamed_unique("tag_label_key")) == []
    assert _catalogs(postgres_url, unnamed_unique(None), unnamed_unique("uq_tag_label"))
    assert _catalogs(
        postgres_url, unnamed_unique(None), unnamed_unique("uq_tag_label"), unnamed=True
    )
    with fresh_database(postgres_url) as url:
        create_all(unnamed_unique(None), url)
        names = [c["name"] for c in dump_catalog(url, unnamed=True)["tables"]["tag"]
                 ["constraints"]]
        assert names == [UNNAMED, UNNAMED]
        names = [c["name"] for c in dump_catalog(url)["tables"]["tag"]["constraints"]]
        assert sorted(names) == ["tag_label_key", "tag_pkey"]


def test_mariadb_foreign_key_names_are_invented_by_number(mysql_url: str) -> None:
    md = sa.MetaData()
    sa.Table("a", md, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table("b", md, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("a_id", sa.Integer, sa.ForeignKey("a.id")))
    with fresh_database(mysql_url) as url:
        create_all(md, url)
        strict = dump_catalog(url)["tables"]["b"]
        loose = dump_catalog(url, unnamed=True)["tables"]["b"]
    assert "b_ibfk_1" in strict["constraints"]
    assert "b_ibfk_1" not in loose["constraints"] and UNNAMED in loose["constraints"]
    assert not any("b_ibfk_1" in line for line in loose["show_create"])
