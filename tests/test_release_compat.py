"""Migration files written by an earlier release still load, replay and apply with today's
code, and keep their checksums.

tests/data/release_0_1/ is a small project whose migrations were written by
`gitmig makemigrations` of gitmig 0.1.0 (create tables, a foreign key, added columns, a unique
index, an index, a RunSQL seed added by hand to an `--empty` migration), with its lock file and
the checksums 0.1.0 computed (checksums.json). Never regenerate these files: they stand for
what users already have in their repositories.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from gitmig.migrations.graph import MigrationGraph
from gitmig.migrations.loader import is_legacy, parse_migration, upgrade_recorded

from .conftest import Project

DATA = Path(__file__).parent / "data" / "release_0_1"
RECORDED = json.loads((DATA / "checksums.json").read_text())


def old_project(tmp_path: Path) -> Project:
    root = tmp_path / "shop_project"
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("checksums.json", "__pycache__"))
    return Project(root)


def test_old_migrations_replay_to_the_models_they_were_written_for(tmp_path: Path) -> None:
    project = old_project(tmp_path)
    before = project.snapshot()
    result = project.gitmig("makemigrations", "--check")
    assert result.exit_code == 0, result.output
    assert result.stdout == "No changes detected.\n"
    assert project.snapshot() == before  # nothing rewritten, the lock file included


def test_old_migrations_apply_and_unapply(tmp_path: Path) -> None:
    project = old_project(tmp_path)
    result = project.gitmig("migrate")
    assert result.exit_code == 0, result.output
    shown = project.gitmig("showmigrations")
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.split() == ["shop", "[X]", "0001_initial",
                                    "[X]", "0002_post_add_slug_and_more",
                                    "[X]", "0003_seed_authors",
                                    "[X]", "0004_create_tag_and_more"]
    db = sqlite3.connect(project.root / "db.sqlite3")
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"author", "post", "tag"} <= tables
        assert [c[1] for c in db.execute("PRAGMA table_info(post)")] == [
            "id", "title", "author_id", "slug", "views"]
        indexes = {r[1]: r[2] for r in db.execute("PRAGMA index_list(post)")}
        assert indexes.get("ix_post_slug") == 1  # unique
        assert "ix_author_email" in {r[1] for r in db.execute("PRAGMA index_list(author)")}
        assert [tuple(r) for r in db.execute("PRAGMA foreign_key_list(post)")][0][2:4] == (
            "author", "author_id")
        assert db.execute("SELECT id, name FROM author").fetchall() == [(1, "Ann")]
    finally:
        db.close()

    back = project.gitmig("migrate", "shop", "zero")
    assert back.exit_code == 0, back.output
    db = sqlite3.connect(project.root / "db.sqlite3")
    try:
        left = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    assert not left & {"author", "post", "tag"}


@dataclass(frozen=True)
class _Row:
    checksum: str


def test_old_checksums_are_recognised() -> None:
    """The checksum 0.1.0 recorded for each old file (in its history tables and lock files)
    is a format 1 checksum (issue 11): it is still recognised as matching its unchanged file,
    and the upgrade path replaces it with today's. The recorded values stay as they are."""
    folder = DATA / "shop" / "migrations"
    names = sorted(p.stem for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert names == sorted(RECORDED["checksums"])
    files = [parse_migration("shop", name, (folder / f"{name}.py").read_bytes(),
                             str(folder / f"{name}.py")) for name in names]
    for parsed in files:
        recorded = RECORDED["checksums"][parsed.name]
        assert is_legacy(recorded), parsed.name
        assert parsed.legacy_checksum == recorded, parsed.name
    graph = MigrationGraph(files, ["shop"])
    rows = {f.key: _Row(RECORDED["checksums"][f.name]) for f in files}
    upgraded, keys = upgrade_recorded(graph, rows)
    assert sorted(keys) == sorted(rows)
    assert {k: r.checksum for k, r in upgraded.items()} == {f.key: f.checksum for f in files}
