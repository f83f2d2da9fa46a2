"""Whose hook is it: gitmig's only by its exact header; lines a user adds to it stay theirs;
uninstall gives back the hook that was there before, byte for byte."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from .conftest import assert_refused
from .gitrepo import Repo, add_slug

TOP = Path(__file__).resolve().parent.parent
SCRIPT = (TOP / "hooks" / "pre-commit").read_bytes()
MINE = b'echo "my own check ran" >&2\n'


def ok(repo: Repo, *args: str) -> list[str]:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def hooks(repo: Repo) -> Path:
    return repo.root / ".git" / "hooks"


def files(repo: Repo) -> dict[str, bytes]:
    folder = hooks(repo)
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


def test_lines_a_user_added_below_gitmigs_are_kept(repo: Repo) -> None:
    """Kept, not run: gitmig's pre-commit exits before them on most commits, which is why
    the hint for a user's own check is NAME.gitmig-orig, which always runs first."""
    ok(repo, "hooks", "install")
    hook = hooks(repo) / "pre-commit"
    total = len(SCRIPT.splitlines())
    hook.write_bytes(SCRIPT + MINE)
    mode = stat.S_IMODE(hook.stat().st_mode)

    assert f"pre-commit: installed, with lines of yours kept (line {total + 1})" in (
        ok(repo, "hooks", "status"))
    assert ok(repo, "hooks", "install")[0] == (
        f"pre-commit: already installed; lines of yours kept (line {total + 1})")
    assert hook.read_bytes() == SCRIPT + MINE
    assert stat.S_IMODE(hook.stat().st_mode) == mode


@pytest.mark.slow
def test_lines_added_between_gitmigs_lines_are_kept_and_run(repo: Repo) -> None:
    ok(repo, "hooks", "install")
    hook = hooks(repo) / "pre-commit"
    lines = SCRIPT.splitlines(keepends=True)
    hook.write_bytes(b"".join(lines[:3]) + MINE + MINE + b"".join(lines[3:]))
    before = hook.read_bytes()
    assert ok(repo, "hooks", "install")[0] == (
        "pre-commit: already installed; lines of yours kept (lines 4-5)")
    assert hook.read_bytes() == before

    repo.write("README", "hello\n")
    run = repo.commit("README")
    assert run.exit_code == 0, run.output
    assert "my own check ran" in run.stderr
    assert "the staged models have changes without a staged migration" in (
        refused_commit(repo))  # gitmig's part still works


def refused_commit(repo: Repo) -> str:
    add_slug(repo)
    before = repo.commits()
    run = repo.commit("blog/models.py")
    assert run.exit_code != 0 and repo.commits() == before, run.output
    return run.stderr


def test_a_hook_whose_gitmig_lines_were_changed_is_refused_saying_where(repo: Repo) -> None:
    ok(repo, "hooks", "install")
    hook = hooks(repo) / "pre-commit"
    lines = SCRIPT.splitlines(keepends=True)
    lines[5] = b"# my note instead of gitmig's\n"
    hook.write_bytes(b"".join(lines) + MINE)
    before = files(repo)

    line = assert_refused(repo.gitmig("hooks", "install"), before, files(repo))
    assert line == (f"gitmig: error: {hook} was changed by you (lines 6, {len(lines) + 1}), "
                    "gitmig's own lines too, so updating it would lose your changes")
    status = ok(repo, "hooks", "status")
    assert any(s.startswith(f"pre-commit: installed, but changed by you (lines 6, "
                            f"{len(lines) + 1})") for s in status), status

    line = assert_refused(repo.gitmig("hooks", "uninstall"), before, files(repo))
    assert line.startswith(f"gitmig: error: {hook} holds lines of yours (lines 6, "
                           f"{len(lines) + 1})")


def test_uninstall_refuses_to_drop_a_users_lines(repo: Repo) -> None:
    ok(repo, "hooks", "install")
    hook = hooks(repo) / "pre-commit"
    hook.write_bytes(SCRIPT + MINE)
    before = files(repo)
    result = repo.gitmig("hooks", "uninstall")
    line = assert_refused(result, before, files(repo))
    assert line == (f"gitmig: error: {hook} holds lines of yours (line "
                    f"{len(SCRIPT.splitlines()) + 1}); removing the hook would lose them")
    assert result.stderr.splitlines()[1].startswith("hint: move them to pre-commit.gitmig-orig")
    assert repo.git("config", "--get", "gitmig.python", check=False).exit_code == 0


@pytest.mark.slow
def test_a_foreign_hook_mentioning_the_marker_is_not_gitmigs(repo: Repo) -> None:
    folder = hooks(repo)
    theirs = (b"#!/bin/sh\n# gitmig-hook: pre-commit -- borrowed a line from gitmig\n"
              b"echo 'their hook ran' >&2\nexit 0")  # no newline at the end, on purpose
    (folder / "pre-commit").write_bytes(theirs)
    (folder / "pre-commit").chmod(0o700)
    assert ok(repo, "hooks", "status")[1].startswith("pre-commit: foreign hook present")

    lines = ok(repo, "hooks", "install")
    assert lines[0] == ("pre-commit: installed; your previous hook is kept as "
                        "pre-commit.gitmig-orig and runs first")
    assert (folder / "pre-commit.gitmig-orig").read_bytes() == theirs
    assert (folder / "pre-commit").read_bytes() == SCRIPT
    add_slug(repo)
    run = repo.commit("blog/models.py")
    assert run.exit_code != 0
    assert "their hook ran" in run.stderr
    assert "the staged models have changes without a staged migration" in run.stderr

    assert ok(repo, "hooks", "uninstall")[0] == "pre-commit: removed; your previous hook is back"
    assert (folder / "pre-commit").read_bytes() == theirs
    assert stat.S_IMODE((folder / "pre-commit").stat().st_mode) == 0o700
    assert not (folder / "pre-commit.gitmig-orig").exists()


def test_a_foreign_hook_with_the_marker_alone_is_left_alone_by_uninstall(repo: Repo) -> None:
    folder = hooks(repo)
    theirs = b"#!/bin/bash\n# gitmig-hook: pre-commit (written by `gitmig hooks install`)\n"
    (folder / "pre-commit").write_bytes(theirs)
    assert ok(repo, "hooks", "uninstall")[0] == "pre-commit: not gitmig's, left as it is"
    assert (folder / "pre-commit").read_bytes() == theirs
