"""Inheritance and declarative idioms: what gitmig migrates is what create_all makes.

Each test writes models in one idiom teams use, runs makemigrations and migrate as a
user would, and compares the migrated database with create_all of the same models in a
scratch database (tests/schema_compare.py), on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import sqlalchemy as sa

from .conftest import Project
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)

HEADER = """
import datetime
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column


class Base(DeclarativeBase):
    pass
"""


def project_at(tmp_path: Path, url: str) -> Project:
    p = Project(tmp_path / "proj")
    p.write("pyproject.toml", f"""
        [tool.gitmig]
        database = "{url}"
        [tool.gitmig.apps]
        staff = "staff.models"
        """)
    p.write("staff/__init__.py", "")
    return p


def metadata_of(p: Project) -> sa.MetaData:
    """The models' MetaData, imported here as the user's application would."""
    sys.path.insert(0, str(p.root))
    try:
        for name in [n for n in sys.modules if n == "staff" or n.startswith("staff.")]:
            del sys.modules[name]
        module = importlib.import_module("staff.models")
        metadata = module.Base.metadata
        assert isinstance(metadata, sa.MetaData)
        return metadata
    finally:
        sys.path.remove(str(p.root))
        for name in [n for n in sys.modules if n == "staff" or n.startswith("staff.")]:
            del sys.modules[name]


def migrate_and_compare(p: Project, url: str, body: str, tables: set[str]) -> None:
    p.write("staff/models.py", HEADER + body)
    r = p.gitmig("makemigrations", "--no-input")
    assert r.exit_code == 0, r.output
    r = p.gitmig("migrate")
    assert r.exit_code == 0, r.output
    assert p.gitmig("makemigrations", "--check").exit_code == 0
    metadata = metadata_of(p)
    named = explicit_names(metadata)
    migrated = reflected_schema(url, named=named)
    assert set(migrated["tables"]) == tables
    with scratch_database(url) as scratch:
        assert_same_schema(migrated, create_all_schema(metadata, scratch, named=named))


EMPLOYEE = """

class Employee(Base):
    __tablename__ = "employee"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(100))
    __mapper_args__ = {"polymorphic_on": "kind", "polymorphic_identity": "employee"}
"""


def test_models_joined_table_inheritance(tmp_path: Path, database_url: str) -> None:
    p = project_at(tmp_path, database_url)
    engineer = EMPLOYEE + """

class Engineer(Employee):
    __tablename__ = "engineer"
    id: Mapped[int] = mapped_column(sa.ForeignKey("employee.id"), primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(30))
    __mapper_args__ = {"polymorphic_identity": "engineer"}
"""
    migrate_and_compare(p, database_url, engineer, {"employee", "engineer"})
    # The subclass's table changes on its own.
    migrate_and_compare(
        p, database_url,
        engineer + "    level: Mapped[int | None] = mapped_column(sa.SmallInteger)\n",
        {"employee", "engineer"},
    )
    assert p.migrations("staff")[-1] == "0002_engineer_add_level.py"


def test_models_single_table_inheritance_adds_columns_to_the_base_table(
    tmp_path: Path, database_url: str
) -> None:
    p = project_at(tmp_path, database_url)
    migrate_and_compare(p, database_url, EMPLOYEE, {"employee"})
    manager = EMPLOYEE + """

class Manager(Employee):
    budget: Mapped[int | None] = mapped_column(sa.Integer)
    __mapper_args__ = {"polymorphic_identity": "manager"}
"""
    migrate_and_compare(p, database_url, manager, {"employee"})
    assert p.migrations("staff")[-1] == "0002_employee_add_budget.py"


def test_models_concrete_table_inheritance(tmp_path: Path, database_url: str) -> None:
    p = project_at(tmp_path, database_url)
    body = """

class Person(Base):
    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))


class Contractor(Person):
    __tablename__ = "contractor"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    rate: Mapped[int] = mapped_column(sa.Integer)
    __mapper_args__ = {"concrete": True}
"""
    migrate_and_compare(p, database_url, body, {"person", "contractor"})


def test_models_abstract_base_and_mixins(tmp_path: Path, database_url: str) -> None:
    p = project_at(tmp_path, database_url)
    body = """

class TimestampMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(server_default=sa.func.now())


class Model(Base):
    __abstract__ = True
    id: Mapped[int] = mapped_column(primary_key=True)


class Team(TimestampMixin, Model):
    __tablename__ = "team"
    title: Mapped[str] = mapped_column(sa.String(50), unique=True)


class Member(TimestampMixin, Model):
    __tablename__ = "member"
    team_id: Mapped[int] = mapped_column(sa.ForeignKey("team.id", ondelete="CASCADE"))
"""
    migrate_and_compare(p, database_url, body, {"team", "member"})


def test_models_declared_attr_tablename_and_foreign_key(
    tmp_path: Path, database_url: str
) -> None:
    p = project_at(tmp_path, database_url)
    body = """

class Named:
    @declared_attr.directive
    def __tablename__(cls) -> str:
        return cls.__name__.lower()

    id: Mapped[int] = mapped_column(primary_key=True)


class OwnedMixin:
    @declared_attr
    def owner_id(cls) -> Mapped[int | None]:
        return mapped_column(sa.ForeignKey("owner.id"), index=True)


class Owner(Named, Base):
    name: Mapped[str] = mapped_column(sa.String(40))


class Desk(Named, OwnedMixin, Base):
    floor: Mapped[int] = mapped_column(sa.Integer)


class Locker(Named, OwnedMixin, Base):
    code: Mapped[str] = mapped_column(sa.String(8))
"""
    migrate_and_compare(p, database_url, body, {"owner", "desk", "locker"})


def test_models_table_args_as_a_dict_and_as_a_tuple(tmp_path: Path, database_url: str) -> None:
    p = project_at(tmp_path, database_url)
    body = """

class Room(Base):
    __tablename__ = "room"
    __table_args__ = {"comment": "meeting rooms"}
    id: Mapped[int] = mapped_column(primary_key=True)


class Booking(Base):
    __tablename__ = "booking"
    __table_args__ = (
        sa.UniqueConstraint("room_id", "day", name="uq_booking_room_day"),
        sa.CheckConstraint("seats > 0", name="ck_booking_seats"),
        sa.Index("ix_booking_day", "day"),
        {"comment": "who has which room"},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(sa.ForeignKey("room.id"))
    day: Mapped[datetime.date]
    seats: Mapped[int]
"""
    migrate_and_compare(p, database_url, body, {"room", "booking"})
