"""Primary keys that move to other columns or change name keep the table keyed, rows kept.

The story from real projects: a table keyed by a `token` string gets a new integer `id`
as its key, later a foreign key points at `id`, and the token goes. A table with no
primary key left would only show when that foreign key fails, so every step is compared
with create_all on all three databases, and the rows are checked.
"""

from __future__ import annotations

import sqlalchemy as sa

from .conftest import BASE, Project
from .constraint_story import execute, story

KEYED_BY_TOKEN = BASE + '''

class ApiKey(Base):
    __tablename__ = "api_key"
    token: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(50))
'''

KEYED_BY_ID = BASE + '''

class ApiKey(Base):
    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(40), unique=True)
    label: Mapped[str] = mapped_column(sa.String(50))
'''

WITH_USAGE = KEYED_BY_ID + '''

class Usage(Base):
    __tablename__ = "key_usage"
    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(sa.ForeignKey("api_key.id"))
'''

TOKEN_GONE = WITH_USAGE.replace(
    '    token: Mapped[str] = mapped_column(sa.String(40), unique=True)\n', ""
)


def _insert_keys(conn: sa.engine.Connection) -> None:
    conn.execute(sa.text("INSERT INTO api_key (token, label) VALUES ('t1', 'one'), ('t2', 'two')"))


def _forget_keys(conn: sa.engine.Connection) -> None:
    """Unapplying the token's removal needs a token per row: no rows, no question."""
    conn.execute(sa.text("DELETE FROM api_key"))


def test_key_moves_from_token_to_a_new_id_rows_kept(project: Project, database_url: str) -> None:
    texts = story(
        project, database_url, [KEYED_BY_TOKEN, KEYED_BY_ID, WITH_USAGE, TOKEN_GONE],
        after={0: _insert_keys, 3: _forget_keys},
    )
    assert "ops.DropPrimaryKey(" in texts[1]
    assert 'sa.Column("id", sa.Integer(), primary_key=True' in texts[1]


def test_existing_rows_get_distinct_ids(project: Project, database_url: str) -> None:
    from .constraint_story import step
    from .schema_compare import scratch_database

    with scratch_database(database_url) as scratch:
        step(project, database_url, scratch, KEYED_BY_TOKEN)
        execute(database_url, "INSERT INTO api_key (token, label) VALUES ('t1', 'a'), ('t2', 'b')")
        step(project, database_url, scratch, KEYED_BY_ID)
        rows = execute(database_url, "SELECT id, token, label FROM api_key ORDER BY token")
        assert [(r[1], r[2]) for r in rows] == [("t1", "a"), ("t2", "b")]
        assert len({r[0] for r in rows}) == 2 and None not in {r[0] for r in rows}
        step(project, database_url, scratch, WITH_USAGE)
        first = rows[0][0]
        execute(database_url, f"INSERT INTO key_usage (api_key_id) VALUES ({first})")


COMPOSITE = BASE + '''

class Price(Base):
    __tablename__ = "price"
    shop: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    amount: Mapped[int]
'''

COMPOSITE_WIDER = COMPOSITE.replace(
    "    amount: Mapped[int]\n",
    '    currency: Mapped[str] = mapped_column(sa.String(3), primary_key=True, default="EUR")\n'
    "    amount: Mapped[int]\n",
)

COMPOSITE_NAMED = COMPOSITE_WIDER.replace(
    '    __tablename__ = "price"\n',
    '    __tablename__ = "price"\n'
    '    __table_args__ = (sa.PrimaryKeyConstraint("shop", "sku", "currency", name="pk_price"),)\n',
)


def test_composite_key_gains_a_column_then_a_name(project: Project, database_url: str) -> None:
    def prices(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("INSERT INTO price (shop, sku, amount) VALUES ('a', 'x', 1)"))

    texts = story(project, database_url, [COMPOSITE, COMPOSITE_WIDER, COMPOSITE_NAMED],
                  after={0: prices})
    assert 'sa.Column("currency", sa.String(length=3), primary_key=True' in texts[1]
    assert 'ops.RenameConstraint("price", None, "pk_price", type_="primary")' in texts[2]


REFERENCED_BY_TOKEN = BASE + '''

class Account(Base):
    __tablename__ = "account"
    token: Mapped[str] = mapped_column(sa.String(40), primary_key=True)


class Address(Base):
    __tablename__ = "address"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_token: Mapped[str] = mapped_column(sa.ForeignKey("account.token"))
'''

REFERENCED_BY_ID = BASE + '''

class Account(Base):
    __tablename__ = "account"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(40), unique=True)


class Address(Base):
    __tablename__ = "address"
    id: Mapped[int] = mapped_column(primary_key=True)
    account_token: Mapped[str] = mapped_column(sa.ForeignKey("account.token"))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("account.id"))
'''


def test_key_moves_under_foreign_keys_of_a_table_sorted_before_it(
    project: Project, database_url: str
) -> None:
    """`address` is altered before `account` (name order): its foreign key into the old
    key goes first, and comes back, with the one into the new key, once `account` has it."""

    def rows(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("INSERT INTO account (token) VALUES ('t1')"))
        conn.execute(sa.text("INSERT INTO address (id, account_token) VALUES (1, 't1')"))

    def forget(conn: sa.engine.Connection) -> None:
        conn.execute(sa.text("DELETE FROM address"))
        conn.execute(sa.text("DELETE FROM account"))

    story(project, database_url, [REFERENCED_BY_TOKEN, REFERENCED_BY_ID, REFERENCED_BY_TOKEN],
          after={0: rows, 2: forget})
