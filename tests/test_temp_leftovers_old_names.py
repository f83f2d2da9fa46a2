"""Temporary files and folders a killed run of an earlier gitmig left, named before names
carried a process id (`.NAME.XXXXXXXX.tmp`, `.pre-commit.XXXXXXXX`, `.tmp-XXXXXXXX`,
`gitmig-resolve-XXXXXXXX`): the next command removes them once no process holds them open
and they have been left alone for a minute; nothing else, and nothing still in use."""

from __future__ import annotations

import os
import random
import string
import tempfile
import time
from pathlib import Path

import pytest

from gitmig.migrations.statecache import cache_dir

from .gitrepo import Repo

ALPHABET = string.ascii_lowercase + string.digits + "_"


def rand() -> str:
    """A random part as tempfile makes one (unique, so that runs never share names)."""
    return "".join(random.choice(ALPHABET) for _ in range(8))


def aged(path: Path, seconds: float = 7200) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def a_file(path: Path, age: float = 7200) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("half a file")
    return aged(path, age)


def a_folder(path: Path, age: float = 7200) -> Path:
    (path / "blog").mkdir(parents=True)
    aged(a_file(path / "blog" / "models.py"), age)
    return aged(path, age)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files in /proc")
def test_old_named_leftovers_of_dead_runs_are_removed_and_nothing_else(repo: Repo) -> None:
    git = repo.root / ".git"
    migrations = repo.root / "blog" / "migrations"
    scratch = Path(tempfile.gettempdir())
    stale = [
        a_file(migrations / f".0002_post_slug.py.{rand()}.tmp"),
        a_file(migrations / f".gitmig.lock.{rand()}.tmp"),
        a_file(repo.root / f".pyproject.toml.{rand()}.tmp"),
        a_file(repo.root / f".pyproject.toml.{rand()}"),
        a_file(git / "hooks" / f".pre-commit.{rand()}"),
        a_file(git / "hooks" / f".post-checkout.{rand()}"),
        a_file(git / "gitmig" / f".precommit-watch.{rand()}"),
        a_file(cache_dir() / f".tmp-{rand()}"),
    ]
    stale_dirs = [
        a_folder(git / "gitmig" / "trees" / f".tmp-{rand()}"),
        a_folder(git / "gitmig" / "blobs" / f".tmp-{rand()}"),
        a_folder(scratch / f"gitmig-resolve-{rand()}"),
        a_folder(scratch / f"gitmig-index-{rand()}"),
    ]
    held_file = a_file(migrations / f".0003_held.py.{rand()}.tmp")
    held_dir = a_folder(git / "gitmig" / "trees" / f".tmp-{rand()}")
    kept = [
        held_file,  # still open in a running process (this one)
        held_dir,  # a file inside it still open
        # written a moment ago: perhaps by a run still going
        a_file(migrations / f".0004_fresh.py.{rand()}.tmp", age=5),
        a_folder(git / "gitmig" / "blobs" / f".tmp-{rand()}", age=5),
        # the user's own files, however close to the old names
        a_file(repo.root / f".env.{rand()}"),
        a_file(repo.root / f".pre-commit.{rand()}.bak"),
        a_file(repo.root / f".tmp-{rand()}"),  # only gitmig's caches had these
        a_file(migrations / ".notes.tmp"),
        a_file(migrations / f".notes.{rand()[:5]}.tmp"),
        a_folder(repo.root / f".tmp-{rand()}"),
    ]
    before = {p: p.read_bytes() for p in kept if p.is_file()}

    with held_file.open("rb"), (held_dir / "blog" / "models.py").open("rb"):
        r = repo.gitmig("showmigrations")
        assert r.exit_code == 0, r.output
        assert [p for p in stale + stale_dirs if p.exists()] == []
        assert [p for p in kept if not p.exists()] == []
        assert {p: p.read_bytes() for p in kept if p.is_file()} == before

    # Once nothing holds them, and they have been left alone a while, they go too.
    aged(held_file)
    aged(held_dir)
    assert repo.gitmig("showmigrations").exit_code == 0
    assert not held_file.exists() and not held_dir.exists()
    assert [p for p in kept[2:] if not p.exists()] == []
