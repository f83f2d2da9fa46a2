"""Temporary files of killed runs: the next gitmig command removes them, and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .gitrepo import Repo, add_slug


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def test_leftovers_of_dead_runs_are_removed_and_nothing_else(repo: Repo) -> None:
    dead, live = _dead_pid(), os.getpid()
    git = repo.root / ".git"
    (git / "gitmig" / "trees").mkdir(parents=True, exist_ok=True)
    (git / "gitmig" / "blobs").mkdir(parents=True, exist_ok=True)
    stale = [
        repo.root / "blog" / "migrations" / f".0002_post_slug.py.{dead}.ab_cd123.tmp",
        repo.root / f".pyproject.toml.{dead}.x1y2z3w4.tmp",
        git / "gitmig" / f".journal.{dead}.abcdefgh.tmp",
        git / "hooks" / f".pre-commit.{dead}.abcdefgh.tmp",
    ]
    scratch = Path(tempfile.gettempdir())
    stale_dirs = [
        scratch / f"gitmig-resolve-{dead}-abcd1234",
        scratch / f"gitmig-index-{dead}-abcd1234",
        git / "gitmig" / "trees" / f".tmp-{dead}-abcd1234",
        git / "gitmig" / "blobs" / f".tmp-{dead}-abcd1234",
    ]
    kept = [
        # a running process's (this one's) temporary file
        repo.root / "blog" / "migrations" / f".0002_post_slug.py.{live}.ab_cd123.tmp",
        # the user's own files, however close to gitmig's names
        repo.root / "blog" / "migrations" / "notes.tmp",
        repo.root / f".pyproject.toml.{dead}.x1y2z3w4.tmp.bak",
        repo.root / f"pyproject.toml.{dead}.x1y2z3w4.tmp",
        repo.root / f".pyproject.toml.{dead}.short.tmp",
        repo.root / f".tmp-{dead}-abcd1234",
        scratch / f"gitmig-resolve-{dead}-notes",
    ]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half a file")
    for folder in stale_dirs:
        (folder / "blog").mkdir(parents=True)
        (folder / "blog" / "models.py").write_text("x = 1\n")
    (repo.root / f".tmp-{dead}-abcd1234").unlink()
    (repo.root / f".tmp-{dead}-abcd1234").mkdir()  # a user's folder outside gitmig's caches
    kept[-2] = repo.root / f".tmp-{dead}-abcd1234"
    before = {p: p.read_bytes() for p in kept if p.is_file()}

    r = repo.gitmig("showmigrations")
    assert r.exit_code == 0, r.output

    assert [p for p in stale + stale_dirs if p.exists()] == []
    assert [p for p in kept if not p.exists()] == []
    assert {p: p.read_bytes() for p in kept if p.is_file()} == before
    (scratch / f"gitmig-resolve-{dead}-notes").unlink()


def test_a_killed_write_leaves_nothing_after_the_next_command(repo: Repo) -> None:
    add_slug(repo)
    env = {**os.environ, "GITMIG_FAULT": "half-written:1", "GITMIG_NO_CACHE": "1"}
    proc = subprocess.run([sys.executable, "-m", "gitmig", "makemigrations", "--no-input"],
                          cwd=repo.root, env=env, capture_output=True, text=True)
    assert proc.returncode == 137, proc.stdout + proc.stderr

    def leftovers() -> list[Path]:
        return [p for p in repo.root.rglob(".*.tmp")]

    assert leftovers(), "the killed run left its temporary file"
    r = repo.gitmig("showmigrations")
    assert r.exit_code == 0, r.output
    assert leftovers() == []
    r = repo.gitmig("makemigrations", "--no-input")
    assert r.exit_code == 0, r.output
    assert len(repo.migrations("blog")) == 2
