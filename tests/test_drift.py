"""`gitmig drift`: changes made by hand are found and named; a database migrated by
gitmig shows none (no false positives), on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import Project
from .drifting import ENUM_MODELS, alter, by_hand, execute, make_project


def migrated(tmp_path: Path, url: str, models: str | None = None) -> Project:
    p = make_project(tmp_path / "proj", url) if models is None else make_project(
        tmp_path / "proj", url, models)
    assert p.gitmig("makemigrations").exit_code == 0
    assert p.gitmig("migrate").exit_code == 0
    return p


def hand_changes(url: str) -> None:
    """Every kind of change a person makes by hand, on one database."""
    alter(url, "post", lambda b: b.add_column(sa.Column("views", sa.Integer())))
    alter(url, "post", lambda b: b.drop_column("body"))
    alter(url, "post", lambda b: b.alter_column("title", type_=sa.String(250),
                                                existing_type=sa.String(200),
                                                existing_nullable=False))
    alter(url, "post", lambda b: b.alter_column("summary", nullable=False,
                                                existing_type=sa.String(100)))
    alter(url, "post", lambda b: b.drop_constraint("ck_post_score", type_="check"))
    with by_hand(url) as op:
        op.create_index("ix_post_slug", "post", ["slug"])
        op.drop_index("ix_post_title", table_name="post")
        op.create_table("audit", sa.Column("id", sa.Integer(), primary_key=True))


TYPES = {"sqlite": ("VARCHAR(200)", "VARCHAR(250)"),
         "postgresql": ("character varying(200)", "character varying(250)"),
         "mysql": ("varchar(200)", "varchar(250)")}


def check_hand_changes(tmp_path: Path, url: str) -> None:
    p = migrated(tmp_path, url)
    assert p.gitmig("drift").exit_code == 0
    hand_changes(url)
    result = p.gitmig("drift")
    assert result.exit_code == 1, result.output
    old, new = TYPES[sa.engine.make_url(url).get_backend_name()]
    lines = result.stdout.splitlines()
    for wanted in [
        "  + Add column post.views ",
        "  - Drop column post.body",
        f"  ~ Alter column post.title: {old} -> {new}",
        "  ~ Alter column post.summary: NULL -> NOT NULL",
        "  + Add index ix_post_slug on post (slug)",
        "  - Drop index ix_post_title on post (title)",
        "  - Drop constraint ck_post_score on post: CHECK ",
    ]:
        assert any(line.startswith(wanted) for line in lines), (wanted, result.stdout)
    # A table in no app is not drift; it is listed apart.
    assert "Unmanaged tables (in no app; [tool.gitmig] ignore_tables hides them):\n  audit\n" \
        in result.stdout
    report = json.loads(p.gitmig("drift", "--json").stdout)
    assert report["drifted"] is True
    assert report["unmanaged_tables"] == ["audit"]
    assert {d["name"] for d in report["drift"]} >= {"post.views", "post.body", "ix_post_slug"}


def test_hand_changes_are_named_on_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    check_hand_changes(tmp_path, sqlite_url)


@pytest.mark.slow
def test_hand_changes_are_named_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    check_hand_changes(tmp_path, postgres_url)


@pytest.mark.slow
def test_hand_changes_are_named_on_mariadb(tmp_path: Path, mysql_url: str) -> None:
    check_hand_changes(tmp_path, mysql_url)


@pytest.mark.slow
def test_an_enum_value_added_by_hand_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    p = migrated(tmp_path, postgres_url, ENUM_MODELS)
    execute(postgres_url, "ALTER TYPE mood ADD VALUE 'sad'")
    result = p.gitmig("drift")
    assert result.exit_code == 1
    assert "  ~ Alter enum mood: ('happy', 'ok') -> ('happy', 'ok', 'sad')\n" in result.stdout
