"""The shortcuts `migrate` takes, and that they change nothing a user can see: the state a
run leaves for the next (statecache.prefix_state), HEAD read from git's files instead of
pygit2, and several migrations sharing one commit."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from gitmig.cache import cache_dir
from gitmig.db.connection import _head_from_files, git_head

from .catalog import dump_catalog
from .conftest import Project
from .gitrepo import Repo
from .test_migrate import POST, POST_WITH_SLUG, make, migrate, models

THIRD = POST_WITH_SLUG + """    body: Mapped[str | None] = mapped_column(sa.Text)
"""


def three(project: Project) -> None:
    models(project, POST)
    make(project)
    models(project, POST_WITH_SLUG)
    make(project)
    models(project, THIRD)
    make(project)


def history(url: str) -> list[tuple[str, str, str]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT app, name, checksum FROM gitmig_migrations "
                                    "ORDER BY app, name")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def prefix_entries() -> list[Path]:
    return sorted(cache_dir().glob("prefix-*.pickle"))


def one_pending(project: Project, url: str) -> tuple[str, object, list[tuple[str, str, str]]]:
    """Migrate to 0002, then apply 0003: (its output, the catalog, the history)."""
    migrate(project, url, "blog", "0002")
    out = migrate(project, url).stdout
    return out.split("(")[0], dump_catalog(url), history(url)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))


def test_one_pending_starts_from_the_state_the_last_run_left(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    three(project)
    for entry in prefix_entries():
        entry.unlink()  # makemigrations leaves the state before what it wrote: not migrate's
    cold_url = f"sqlite:///{tmp_path / 'cold.db'}"
    monkeypatch.setenv("GITMIG_NO_CACHE", "1")
    cold = one_pending(project, cold_url)
    assert not prefix_entries()
    monkeypatch.delenv("GITMIG_NO_CACHE")
    warm_url = f"sqlite:///{tmp_path / 'warm.db'}"

    warm = one_pending(project, warm_url)

    assert warm == cold
    assert cold[0] == "Applying blog.0003_post_add_body... OK "
    assert prefix_entries(), "the runs left their states"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "other digest"])
def test_a_damaged_entry_is_ignored(project: Project, tmp_path: Path, damage: str) -> None:
    three(project)
    one_pending(project, f"sqlite:///{tmp_path / 'first.db'}")  # leaves entries
    for path in prefix_entries():
        data = path.read_bytes()
        if damage == "truncated":
            path.write_bytes(data[: len(data) // 2])
        elif damage == "garbage":
            path.write_bytes(b"not a pickle")
        else:  # well-formed, but its digest is not that of its items
            entry = pickle.loads(data)
            for e in entry["value"]:
                e["digest"] = "0" * 64
            path.write_bytes(pickle.dumps(entry))
    url = f"sqlite:///{tmp_path / 'second.db'}"

    out, catalog, rows = one_pending(project, url)

    assert out == "Applying blog.0003_post_add_body... OK "
    assert "body" in str(catalog) and len(rows) == 3


@pytest.mark.slow
def test_one_pending_is_exact_on_every_database(project: Project, database_url: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The same schema and rows as the full replay gives, on SQLite, PostgreSQL, MariaDB."""
    three(project)
    monkeypatch.setenv("GITMIG_NO_CACHE", "1")
    cold = one_pending(project, database_url)
    migrate(project, database_url, "blog", "zero")
    monkeypatch.delenv("GITMIG_NO_CACHE")
    migrate(project, database_url, "blog", "0003")  # leaves the states of 0001..0003
    migrate(project, database_url, "blog", "zero")

    warm = one_pending(project, database_url)

    assert warm[:2] == cold[:2] and [r[:3] for r in warm[2]] == [r[:3] for r in cold[2]]


# -- HEAD from git's files -------------------------------------------------------------------


def test_head_from_files_agrees_with_pygit2(repo: Repo, tmp_path: Path) -> None:
    repo.write("a.txt", "a")
    repo.commit("a.txt")
    head = repo.git("rev-parse", "HEAD").stdout.strip()
    assert _head_from_files(repo.root / "sub" / "dir") == head == git_head(repo.root)
    repo.git("pack-refs", "--all")  # the branch's ref only in packed-refs
    assert _head_from_files(repo.root) == head
    repo.git("checkout", "-q", "--detach")
    assert _head_from_files(repo.root) == head
    repo.git("worktree", "add", "-q", str(tmp_path / "linked"))  # .git is a file there
    assert _head_from_files(tmp_path / "linked") is None
    assert git_head(tmp_path / "linked") == head


def test_an_unborn_branch_has_no_head(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path / "new")], check=True)
    assert _head_from_files(tmp_path / "new") is None and git_head(tmp_path / "new") is None
