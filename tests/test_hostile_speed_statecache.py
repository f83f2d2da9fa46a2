"""A hostile trial of the states `migrate` leaves for its next run (statecache prefix
states, remembered by Executor.prepare): a migration file edited under the same name, two
branches whose versions of it alternate, and damaged entries, must never hand a run the
state of other files. The probe: the last migration rebuilds the SQLite table from the
state, so a wrong state loses (or invents) a column."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from gitmig.cache import cache_dir

from .conftest import Project
from .test_migrate import POST, POST_WITH_SLUG, make, migrate, models

EXTRA = '    ops.AddColumn("post", sa.Column("extra", sa.Integer(), nullable=True)),\n'


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))


def rebuilt(project: Project) -> Path:
    """0001 post, 0002 its slug, 0003 the slug's type changed (a table rebuild on
    SQLite, made from the state before it); the path of 0002."""
    models(project, POST)
    make(project)
    models(project, POST_WITH_SLUG)
    make(project)
    models(project, POST_WITH_SLUG.replace("String(50)", "String(80)"))
    make(project)
    return next((project.root / "blog/migrations").glob("0002_*.py"))


def columns(url: str) -> list[str]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return sorted(c["name"] for c in sa.inspect(engine).get_columns("post"))
    finally:
        engine.dispose()


def version(second: Path, original: str, extra: bool) -> None:
    """0002 as a branch has it: as made, or with a column more (same name, other bytes)."""
    second.write_text(original.replace("operations = [\n", "operations = [\n" + EXTRA)
                      if extra else original)


def test_an_edited_file_and_branches_back_and_forth_get_their_own_states(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    second = rebuilt(project)
    original = second.read_text()
    assert "operations = [\n" in original
    for i, extra in enumerate([False, True, False, True, True, False]):
        version(second, original, extra)
        url = f"sqlite:///{tmp_path / f'db{i}.sqlite3'}"
        monkeypatch.setenv("GITMIG_NO_CACHE", "1")
        migrate(project, url, "blog", "0002")
        monkeypatch.delenv("GITMIG_NO_CACHE")
        if i % 2:  # the other branch's 0002 (same name, other bytes) leaves its state last
            version(second, original, not extra)
            migrate(project, f"sqlite:///{tmp_path / f'other{i}.sqlite3'}", "blog", "0002")
            version(second, original, extra)

        out = migrate(project, url, "--no-drift-check").stdout

        assert out.startswith("Applying blog.0003_")
        expected = ["id", "slug", "title"] + (["extra"] if extra else [])
        assert columns(url) == sorted(expected), f"run {i}"
    assert list(cache_dir().glob("prefix-*.pickle")), "the runs left states"


@pytest.mark.parametrize("damage", ["empty", "zeros", "a list of junk"])
def test_damaged_state_files_are_ignored(project: Project, tmp_path: Path,
                                         damage: str) -> None:
    import pickle

    rebuilt(project)
    migrate(project, f"sqlite:///{tmp_path / 'first.sqlite3'}", "blog", "0002")
    entries = list(cache_dir().glob("prefix-*.pickle"))
    assert entries
    for path in entries:
        data = path.read_bytes()
        if damage == "empty":
            path.write_bytes(b"")
        elif damage == "zeros":
            path.write_bytes(b"\0" * len(data))
        else:
            entry = pickle.loads(data)
            entry["value"] = [None, 3, {"digest": 1}, {"items": [], "state": "junk"}]
            path.write_bytes(pickle.dumps(entry))
    url = f"sqlite:///{tmp_path / 'second.sqlite3'}"
    migrate(project, url, "blog", "0002")

    r = migrate(project, url)

    assert r.stdout.startswith("Applying blog.0003_") and not r.stderr
    assert columns(url) == ["id", "slug", "title"]
