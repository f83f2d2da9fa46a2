"""makemigrations then migrate gives the schema create_all gives, on all three databases.

One story per test: a shop's models evolve over several commits' worth of changes; after
each `migrate` the database must reflect exactly as `create_all` of the same models, rows
must survive, and `migrate blog zero` must leave nothing behind.
"""

from __future__ import annotations

import runpy

import pytest
import sqlalchemy as sa

from .conftest import BASE, Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)

V1 = BASE + '''
import enum


class Color(enum.Enum):
    red = "red"
    blue = "blue"


class Customer(Base):
    __tablename__ = "customer"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    color: Mapped[Color] = mapped_column(sa.Enum(Color))
    active: Mapped[bool] = mapped_column(server_default="1")
    nickname: Mapped[str | None] = mapped_column(sa.String(30))


class Order(Base):
    __tablename__ = "order"
    __table_args__ = (
        sa.CheckConstraint("total >= 0", name="ck_order_total"),
        sa.Index("ix_order_total", "total"),
        {"comment": "what customers bought"},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        sa.ForeignKey("customer.id", ondelete="CASCADE")
    )
    total: Mapped[float] = mapped_column(sa.Numeric(10, 2), server_default="0")
    note: Mapped[str | None] = mapped_column(sa.String(100), comment="free text")
'''

# Columns added (NOT NULL with a Python default for existing rows, a foreign key),
# a type widened, an index swapped, unnamed and named constraints added.
V2 = V1.replace(
    '''    note: Mapped[str | None] = mapped_column(sa.String(100), comment="free text")
''',
    '''    note: Mapped[str | None] = mapped_column(sa.String(500), comment="free text")
    status: Mapped[str] = mapped_column(sa.String(20), default="new")
    referrer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("customer.id"))
''',
).replace(
    'sa.Index("ix_order_total", "total"),',
    'sa.Index("ix_order_status", "status", unique=False), sa.UniqueConstraint("note"),',
).replace(
    '''    nickname: Mapped[str | None] = mapped_column(sa.String(30))
''',
    '''    nickname: Mapped[str | None] = mapped_column(sa.String(30))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    __table_args__ = (sa.UniqueConstraint("email", name="uq_customer_email"),)
''',
)

# Columns dropped and made NOT NULL, an enum gains a value, constraints dropped,
# comments changed.
V3 = (
    V2.replace('    blue = "blue"\n', '    blue = "blue"\n    green = "green"\n')
    .replace('    active: Mapped[bool] = mapped_column(server_default="1")\n', "")
    .replace(
        "nickname: Mapped[str | None] = mapped_column(sa.String(30))",
        'nickname: Mapped[str] = mapped_column(sa.String(30), default="anon")',
    )
    .replace(' sa.UniqueConstraint("note"),', "")
    .replace('sa.CheckConstraint("total >= 0", name="ck_order_total"),',
             'sa.CheckConstraint("total >= 1", name="ck_order_total_positive"),')
    .replace('{"comment": "what customers bought"}', '{"comment": "orders"}')
)

# A table renamed (with a foreign key into it) and a column renamed.
V4 = V3.replace('__tablename__ = "order"', '__tablename__ = "purchase"').replace(
    "note: Mapped[str | None] = mapped_column(sa.String(500)",
    "remark: Mapped[str | None] = mapped_column(sa.String(500)",
)


def _metadata(project: Project) -> sa.MetaData:
    namespace = runpy.run_path(str(project.root / "blog" / "models.py"))
    metadata: sa.MetaData = namespace["Base"].metadata
    return metadata


def _step(project: Project, url: str, scratch: str, models: str, *makemigrations: str) -> None:
    project.write("blog/models.py", models)
    made = project.gitmig("makemigrations", "--no-input", *makemigrations)
    assert made.exit_code == 0, made.output
    result = project.gitmig("migrate", "--database", url)
    assert result.exit_code == 0, result.output
    assert "Applying blog." in result.stdout
    metadata = _metadata(project)
    names = explicit_names(metadata)
    assert_same_schema(
        reflected_schema(url, named=names), create_all_schema(metadata, scratch, named=names)
    )


@pytest.mark.slow
def test_models_evolve_and_the_database_follows(project: Project, database_url: str) -> None:
    with scratch_database(database_url) as scratch:
        _step(project, database_url, scratch, V1)
        engine = sa.create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(sa.text(
                "INSERT INTO customer (id, name, color, active, nickname) "
                "VALUES (1, 'ann', 'red', '1', NULL), (2, 'bob', 'blue', '0', 'b')"
            ))
            conn.execute(sa.text(
                'INSERT INTO "order" (id, customer_id, total, note) VALUES (10, 1, 5, \'hi\')'
                if engine.dialect.name != "mysql" else
                "INSERT INTO `order` (id, customer_id, total, note) VALUES (10, 1, 5, 'hi')"
            ))

        _step(project, database_url, scratch, V2)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, customer_id, note, status, referrer_id FROM "
                + ('"order"' if engine.dialect.name != "mysql" else "`order`")
            )).all()
        assert [tuple(r) for r in rows] == [(10, 1, "hi", "new", None)]

        _step(project, database_url, scratch, V3)
        with engine.connect() as conn:
            rows = conn.execute(sa.text(
                "SELECT id, name, color, nickname, email FROM customer ORDER BY id"
            )).all()
        assert [tuple(r) for r in rows] == [(1, "ann", "red", "anon", None),
                                            (2, "bob", "blue", "b", None)]

        _step(project, database_url, scratch, V4, "--rename", "order=purchase",
              "--rename", "purchase.note=remark")
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, remark, status FROM purchase")).all()
        assert [tuple(r) for r in rows] == [(10, "hi", "new")]
        engine.dispose()

    zero = project.gitmig("migrate", "blog", "zero", "--database", database_url)
    assert zero.exit_code == 0, zero.output
    assert zero.stdout.count("Unapplying blog.") == 4
    after = reflected_schema(database_url)
    assert after["tables"] == {}
    assert after.get("enums", {}) == {}
    assert sa.inspect(sa.create_engine(database_url)).get_table_names() == ["gitmig_migrations"]
