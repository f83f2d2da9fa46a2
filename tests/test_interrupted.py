"""A multi-file change killed at any step (`makemigrations --amend`, `resolve`): the next
gitmig command finishes it or rolls it back, says so, and leaves the working tree, git's
index and the lock files consistent, with nothing lost.

The kill is real (the process ends with os._exit at the N-th step it reaches, chosen by
GITMIG_FAULT), and every step of the change is tried, one run each.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .gitrepo import Repo, add_slug, make_repo
from .twobranches import files_and_index, ok, two_branches

# Commands killed at each step, then recovered: in the full run, not in `pytest -m "not slow"`.
pytestmark = pytest.mark.slow


VIEWS = "    views: Mapped[int | None]\n"
KILLED = 137


def gitmig(repo: Repo, *args: str, fault: str | None = None) -> subprocess.CompletedProcess[str]:
    """gitmig as a user types it, in its own process (so that it can be killed)."""
    env = {k: v for k, v in os.environ.items() if k != "GITMIG_FAULT"}
    if fault is not None:
        env["GITMIG_FAULT"] = fault
    return subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=repo.root, env=env,
                          capture_output=True, text=True, timeout=120)


def state(repo: Repo) -> dict[str, str]:
    """The working tree (hidden leftovers included) and git's index, as hashes."""
    out = files_and_index(repo)
    out["(git dir gitmig/journal)"] = str((repo.root / ".git/gitmig/journal").exists())
    return out


def killed_at_every_step(repo: Repo, command: list[str], before: dict[str, str],
                         after: dict[str, str], restore: object) -> int:
    """Run `command` killed at step 1, 2, ... until it runs through; after each kill the
    next command must bring the project back to `before` or on to `after`. Returns the
    number of steps."""
    assert callable(restore)
    step = 0
    while True:
        step += 1
        run = gitmig(repo, *command, fault=f"*:{step}")
        if run.returncode != KILLED:
            assert run.returncode == 0, run.stdout + run.stderr
            assert state(repo) == after
            return step - 1
        next_run = gitmig(repo, "conflicts")  # any command that reads the project
        lines = next_run.stderr.splitlines()
        finished = [line for line in lines if "interrupted" in line]
        now = state(repo)
        assert now in (before, after), f"step {step}: {next_run.stderr}"
        if finished:
            assert len(finished) == 1
            assert finished[0].startswith("gitmig: an interrupted `"), finished
        if now == after:
            assert next_run.returncode == 0, next_run.stdout + next_run.stderr
        restore()
        assert state(repo) == before


def snapshot_files(repo: Repo) -> dict[str, bytes]:
    return {p: data for p, data in repo.snapshot().items() if not p.startswith(".git/")}


def put_back(repo: Repo, files: dict[str, bytes], index: bytes) -> None:
    for path in list(snapshot_files(repo)):
        if path not in files:
            (repo.root / path).unlink()
    for path, data in files.items():
        target = repo.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
    (repo.root / ".git/index").write_bytes(index)


@pytest.mark.slow
def test_amend_killed_at_every_step_is_finished_or_undone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    add_slug(repo)
    ok(repo, "makemigrations", "--no-input")
    repo.write("blog/models.py", repo.read("blog/models.py") + VIEWS)
    files, index = snapshot_files(repo), (repo.root / ".git/index").read_bytes()
    before = state(repo)
    ok(repo, "makemigrations", "--no-input", "--amend")
    after = state(repo)
    assert repo.migrations("blog") == ["0001_initial.py",
                                       "0002_post_add_slug_and_post_add_views.py"]
    put_back(repo, files, index)
    assert state(repo) == before

    steps = killed_at_every_step(repo, ["makemigrations", "--no-input", "--amend"], before,
                                 after, lambda: put_back(repo, files, index))
    assert steps >= 20
    assert gitmig(repo, "makemigrations", "--check").returncode == 0


@pytest.mark.slow
def test_resolve_killed_at_every_step_is_finished_or_undone(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    files, index = snapshot_files(repo), (repo.root / ".git/index").read_bytes()
    before = state(repo)
    ok(repo, "resolve")
    after = state(repo)
    put_back(repo, files, index)
    assert state(repo) == before

    steps = killed_at_every_step(repo, ["resolve"], before, after,
                                 lambda: put_back(repo, files, index))
    assert steps >= 20
    # What the user then does: conclude the merge; the history is linear and in sync.
    assert repo.git("commit", "-q", "--no-edit", check=False).exit_code == 0
    assert gitmig(repo, "conflicts").returncode == 0
    assert repo.git("status", "--porcelain").stdout == ""


def test_a_journal_whose_files_were_changed_since_is_left_alone(tmp_path: Path) -> None:
    """A file the interrupted command touched, then edited by the user: never overwritten."""
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    add_slug(repo)
    ok(repo, "makemigrations", "--no-input")
    repo.write("blog/models.py", repo.read("blog/models.py") + VIEWS)
    # Killed after the journal and the new file, before the old one was removed.
    run = gitmig(repo, "makemigrations", "--no-input", "--amend", fault="write:2")
    assert run.returncode == KILLED
    new = repo.root / "blog/migrations/0002_post_add_slug_and_post_add_views.py"
    assert new.exists() and (repo.root / "blog/migrations/0002_post_add_slug.py").exists()
    new.write_text(new.read_text() + "# my own note\n")
    mine = hashlib.sha256(new.read_bytes()).hexdigest()
    run = gitmig(repo, "status")
    assert run.returncode == 2
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("gitmig: error: an interrupted `gitmig makemigrations --amend` "
                               f"left {new} changed since; gitmig will not overwrite it. ")
    assert hashlib.sha256(new.read_bytes()).hexdigest() == mine
    # The user decides: the journal removed, gitmig goes on.
    (repo.root / ".git/gitmig/journal").unlink()
    assert gitmig(repo, "conflicts").returncode in (0, 1)


def test_a_killed_resolve_is_rolled_back_by_the_next_command(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    before = state(repo)
    # Killed with the renamed file and the lock file written, git's index not yet: both
    # the old file and the new one are there, as the issue saw it.
    run = gitmig(repo, "resolve", fault="write:3")
    assert run.returncode == KILLED
    assert (repo.root / "blog/migrations/0002_post_add_slug.py").exists()
    assert (repo.root / "blog/migrations/0003_post_add_slug.py").exists()
    run = gitmig(repo, "conflicts")
    assert run.stderr.splitlines()[0] == (
        "gitmig: an interrupted `gitmig resolve` was rolled back: its files and git's index "
        "are as they were before it; run it again")
    assert state(repo) == before
    assert gitmig(repo, "resolve").returncode == 0
    assert repo.migrations("blog") == ["0001_initial.py", "0002_tag_add_color.py",
                                       "0003_post_add_slug.py"]
    assert gitmig(repo, "conflicts").returncode == 0


def test_a_makemigrations_killed_after_its_file_is_completed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    add_slug(repo)
    run = gitmig(repo, "makemigrations", "--no-input", fault="linked:1")
    assert run.returncode == KILLED
    run = gitmig(repo, "makemigrations", "--no-input")
    assert run.returncode == 0, run.stderr
    assert run.stderr == ("gitmig: an interrupted `gitmig makemigrations` had written all its "
                          "files; gitmig completed it\n")
    assert run.stdout.startswith("No changes detected.\nUpdated blog/migrations/gitmig.lock")
    assert repo.migrations("blog") == ["0001_initial.py", "0002_post_add_slug.py"]
    hidden = [p.name for p in (repo.root / "blog/migrations").iterdir()
              if p.name.startswith(".")]
    assert hidden == []
    assert gitmig(repo, "conflicts").returncode == 0
