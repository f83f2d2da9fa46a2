"""Two commands that write migrations at once in one project: the second waits for the
first, then numbers after it (two real processes, started while the lock is held)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .gitrepo import Repo, add_slug, make_repo

# Commands racing each other: in the full run, not in `pytest -m "not slow"`.
pytestmark = pytest.mark.slow

WAITING = "gitmig: waiting for another gitmig command in this project to finish"


def start(repo: Repo, *args: str, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:
        return subprocess.Popen([sys.executable, "-m", "gitmig", "makemigrations",
                                 "--no-input", *args], cwd=repo.root, stdout=subprocess.PIPE,
                                stderr=err, env={k: v for k, v in os.environ.items()
                                                 if k != "GITMIG_FAULT"})


def both_waiting(logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while not all(WAITING in log.read_text() for log in logs):
        assert time.monotonic() < deadline, [log.read_text() for log in logs]
        time.sleep(0.05)


def run_together(repo: Repo, tmp_path: Path, *commands: tuple[str, ...]) -> list[str]:
    """Start the commands while the test holds the project lock (as a running gitmig
    would), see each one wait, then let them race; their outputs."""
    fd = os.open(repo.root / ".git", os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    logs = [tmp_path / f"err{i}" for i in range(len(commands))]
    try:
        procs = [start(repo, *args, log=log) for args, log in zip(commands, logs, strict=True)]
        both_waiting(logs)
    finally:
        os.close(fd)
    outputs = []
    for proc, log in zip(procs, logs, strict=True):
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, log.read_text()
        assert log.read_text().splitlines() == [WAITING]  # said once, nothing else
        outputs.append(out.decode())
    return outputs


def test_two_makemigrations_at_once_number_one_after_the_other(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    run_together(repo, tmp_path, ("--empty", "-n", "alpha", "blog"),
                 ("--empty", "-n", "beta", "blog"))
    names = repo.migrations("blog")
    assert names in (["0001_initial.py", "0002_alpha.py", "0003_beta.py"],
                     ["0001_initial.py", "0002_beta.py", "0003_alpha.py"])
    second = names[2][:-3]
    assert f'parents = ["{names[1][:-3]}"]' in repo.read(f"blog/migrations/{second}.py")
    lock = repo.read("blog/migrations/gitmig.lock")
    assert f"leaf: {second}\n" in lock
    check = subprocess.run([sys.executable, "-m", "gitmig", "conflicts"], cwd=repo.root,
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_same_model_change_twice_at_once_gets_one_migration(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    add_slug(repo)
    outputs = run_together(repo, tmp_path, ("-n", "alpha"), ("-n", "beta"))
    names = repo.migrations("blog")
    assert names in (["0001_initial.py", "0002_alpha.py"], ["0001_initial.py", "0002_beta.py"])
    assert sorted("No changes detected" in out for out in outputs) == [False, True]
