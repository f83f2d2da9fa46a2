"""A lock file or a pyproject.toml that is not a regular file: a FIFO (a read waits for a
writer forever) or a symbolic link to /dev/zero (a read never ends), as a crafted repository
or a slip can leave them. No command waits on one: each runs in a process of its own with a
deadline (a hang fails the test instead of stopping the suite), and those that read the file
answer with one line and exit 2; the odd file is left where it is."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from .gitrepo import POST, Repo, make_repo

LOCK = "blog/migrations/gitmig.lock"


def fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def zeros(path: Path) -> None:
    path.unlink()
    path.symlink_to("/dev/zero")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("template")
    repo = make_repo(base / "proj", base / "home", POST)
    assert repo.gitmig("migrate").exit_code == 0
    return base


def gitmig(repo: Repo, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=repo.root,
                          env={**repo.env(), "GITMIG_CACHE_DIR": str(repo.root.parent / "c")},
                          capture_output=True, text=True, timeout=60)


# The commands that read the lock file refuse it; the others do not read it at all.
ON_THE_LOCK = {("makemigrations", "--check"): 2, ("makemigrations",): 2, ("conflicts",): 2,
               ("migrate",): 0, ("showmigrations",): 0, ("sqlmigrate", "blog", "0001"): 0,
               ("status",): 0}
# Every command reads pyproject.toml (given by --config, or found upwards).
ON_PYPROJECT = dict.fromkeys([*ON_THE_LOCK, ("--config", "pyproject.toml", "migrate")], 2)


@pytest.mark.parametrize("make", [fifo, zeros], ids=["fifo", "dev-zero"])
@pytest.mark.parametrize(("which", "args", "code"), [
    *((LOCK, args, code) for args, code in ON_THE_LOCK.items()),
    *(("pyproject.toml", args, code) for args, code in ON_PYPROJECT.items())],
    ids=lambda v: "-".join(v) if isinstance(v, tuple) else str(v))
def test_no_command_waits_on_a_file_that_is_not_regular(
        template: Path, tmp_path: Path, which: str, args: tuple[str, ...], code: int,
        make: Callable[[Path], None]) -> None:
    shutil.copytree(template / "proj", tmp_path / "proj", symlinks=True)
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    make(repo.root / which)

    result = gitmig(repo, *args)

    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    odd = repo.root / which
    assert odd.is_symlink() if make is zeros else odd.exists() and not odd.is_file()
    if code == 0:
        return
    lines = result.stderr.strip().splitlines()
    assert len(lines) in (1, 2) and lines[0].startswith("gitmig: error: "), result.stderr
    assert "cannot read" in lines[0] and str(repo.root / which) in lines[0], lines[0]
    assert "not a regular file but a FIFO, a device or a socket" in lines[0], lines[0]


def test_the_hook_with_the_lock_staged_as_a_link_to_a_device(template: Path,
                                                             tmp_path: Path) -> None:
    """git stores a symbolic link as its target's name: the staged lock is that text, which
    the hook reads from git, never from the device."""
    shutil.copytree(template / "proj", tmp_path / "proj", symlinks=True)
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    zeros(repo.root / LOCK)
    repo.git("add", LOCK)
    result = gitmig(repo, "hooks", "run", "pre-commit")
    assert result.returncode in (1, 2), (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    assert LOCK in result.stdout + result.stderr
