"""`gitmig hooks install|uninstall|status`, and the post-merge and post-checkout hooks.

Every hook here is run by git itself, from a PATH without this virtual environment.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import gitmig
from gitmig.hooks.install import script

from .conftest import assert_refused
from .gitrepo import Repo, add_slug, make_repo

TOP = Path(__file__).resolve().parent.parent
HOOKS = ["post-checkout", "post-merge", "pre-commit"]

FOREIGN = b"#!/bin/sh\necho 'lint ran' >&2\n[ -e block-commits ] && exit 3\nexit 0\n"


def gitmig_ok(repo: Repo, *args: str, cwd: Path | None = None) -> list[str]:
    result = repo.gitmig(*args, cwd=cwd)
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


def refused_model_change(repo: Repo) -> str:
    """Commit a model change without its migration; the hook must refuse it."""
    add_slug(repo)
    before = repo.commits()
    run = repo.commit("blog/models.py")
    assert run.exit_code != 0, run.output
    assert repo.commits() == before
    return run.stderr


def test_the_top_level_hooks_folder_holds_exactly_the_scripts_gitmig_installs() -> None:
    scripts = [n for n in os.listdir(TOP / "hooks") if n not in ("__init__.py", "__pycache__")]
    assert sorted(scripts) == HOOKS
    assert not (Path(gitmig.__file__).parent / "hook_scripts").exists()  # no second copy
    for name in HOOKS:
        assert script(name) == (TOP / "hooks" / name).read_bytes(), name
        assert os.access(TOP / "hooks" / name, os.X_OK)
        subprocess.run(["sh", "-n", str(TOP / "hooks" / name)], check=True)


def test_install_writes_the_hooks_records_python_and_is_idempotent(repo: Repo) -> None:
    lines = gitmig_ok(repo, "hooks", "install")
    assert lines == [
        "pre-commit: installed",
        "post-merge: installed",
        "post-checkout: installed",
        f"The hooks run {sys.executable} (git config gitmig.python).",
    ]
    folder = repo.root / ".git" / "hooks"
    for name in HOOKS:
        assert (folder / name).read_bytes() == (TOP / "hooks" / name).read_bytes()
        assert os.access(folder / name, os.X_OK)
    assert repo.git("config", "--get", "gitmig.python").stdout.strip() == sys.executable
    assert repo.git("config", "--get", "gitmig.config").stdout.strip() == "pyproject.toml"
    assert gitmig_ok(repo, "hooks", "status") == [
        f"hooks folder: {folder}",
        "pre-commit: installed",
        "post-merge: installed",
        "post-checkout: installed",
        f"python: {sys.executable}",
    ]
    again = gitmig_ok(repo, "hooks", "install")
    assert again[:3] == [f"{n}: already installed" for n in ("pre-commit", "post-merge",
                                                               "post-checkout")]
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(".sample")) == HOOKS


def test_an_outdated_hook_is_reported_and_updated(repo: Repo) -> None:
    """A hook an earlier gitmig wrote (tests/data/old_hooks) is replaced as it is; lines a
    user added are another matter (tests/test_hooks_ownership.py)."""
    gitmig_ok(repo, "hooks", "install")
    hook = repo.root / ".git" / "hooks" / "pre-commit"
    hook.write_bytes((TOP / "tests" / "data" / "old_hooks" / "pre-commit").read_bytes())
    assert "pre-commit: installed but outdated; run `gitmig hooks install` to update it" in (
        gitmig_ok(repo, "hooks", "status"))
    assert "pre-commit: updated" in gitmig_ok(repo, "hooks", "install")
    assert hook.read_bytes() == (TOP / "hooks" / "pre-commit").read_bytes()


def test_an_existing_hook_keeps_running_first_and_comes_back_byte_for_byte(repo: Repo) -> None:
    folder = repo.root / ".git" / "hooks"
    (folder / "pre-commit").write_bytes(FOREIGN)
    (folder / "pre-commit").chmod(0o750)
    assert "pre-commit: foreign hook present" in gitmig_ok(repo, "hooks", "status")[1]

    lines = gitmig_ok(repo, "hooks", "install")
    assert lines[0] == ("pre-commit: installed; your previous hook is kept as "
                        "pre-commit.gitmig-orig and runs first")
    assert (folder / "pre-commit.gitmig-orig").read_bytes() == FOREIGN
    assert gitmig_ok(repo, "hooks", "status")[1] == (
        "pre-commit: installed; runs your previous hook (pre-commit.gitmig-orig) first")

    repo.write("README", "hello\n")
    run = repo.commit("README")
    assert run.exit_code == 0, run.output
    assert "lint ran" in run.stderr
    repo.write("block-commits", "")
    repo.write("README", "hello again\n")
    before = repo.commits()
    run = repo.commit("README")
    assert run.exit_code != 0 and repo.commits() == before  # the old hook still blocks
    (repo.root / "block-commits").unlink()
    assert "gitmig: app 'blog'" in refused_model_change(repo)  # and gitmig checks after it

    lines = gitmig_ok(repo, "hooks", "uninstall")
    assert lines == ["pre-commit: removed; your previous hook is back",
                     "post-merge: removed", "post-checkout: removed"]
    assert (folder / "pre-commit").read_bytes() == FOREIGN
    assert stat.S_IMODE((folder / "pre-commit").stat().st_mode) == 0o750
    assert not (folder / "pre-commit.gitmig-orig").exists()
    assert not (folder / "post-merge").exists()
    assert repo.git("config", "--get", "gitmig.python", check=False).exit_code == 1
    assert gitmig_ok(repo, "hooks", "status")[1:] == [
        "pre-commit: foreign hook present (not gitmig's; `gitmig hooks install` keeps it "
        "and runs it first)",
        "post-merge: not installed",
        "post-checkout: not installed",
    ]
    assert gitmig_ok(repo, "hooks", "uninstall")[0] == "pre-commit: not gitmig's, left as it is"
    assert (folder / "pre-commit").read_bytes() == FOREIGN


def test_install_refuses_to_overwrite_a_kept_hook(repo: Repo) -> None:
    folder = repo.root / ".git" / "hooks"
    (folder / "post-merge").write_bytes(FOREIGN)
    (folder / "post-merge.gitmig-orig").write_bytes(b"#!/bin/sh\n# older\n")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    result = repo.gitmig("hooks", "install")
    line = assert_refused(result, before, {p.name: p.read_bytes() for p in folder.iterdir()})
    assert "post-merge.gitmig-orig already exists" in line
    assert result.stderr.splitlines()[1] == ("hint: move one of them away, then run "
                                             "`gitmig hooks install` again")


@pytest.mark.slow
@pytest.mark.parametrize("absolute", [False, True], ids=["relative", "absolute"])
def test_core_hooks_path_is_respected(repo: Repo, tmp_path: Path, absolute: bool) -> None:
    where = tmp_path / "shared hooks" if absolute else repo.root / ".githooks"
    repo.git("config", "core.hooksPath", str(where) if absolute else ".githooks")
    gitmig_ok(repo, "hooks", "install")
    assert sorted(os.listdir(where)) == HOOKS
    assert not (repo.root / ".git" / "hooks" / "pre-commit").exists()
    assert "gitmig hooks run" not in repo.read(".gitignore")  # nothing else written
    assert "the staged models have changes without a staged migration" in (
        refused_model_change(repo))


@pytest.mark.slow
def test_a_linked_worktree_uses_the_common_hooks(repo: Repo, tmp_path: Path) -> None:
    linked = Repo(tmp_path / "feature tree", repo.home)
    repo.git("worktree", "add", "-q", "-b", "feature", str(linked.root))
    gitmig_ok(linked, "hooks", "install")
    assert sorted(p.name for p in (repo.root / ".git" / "hooks").iterdir()
                  if not p.name.endswith(".sample")) == HOOKS
    assert "app 'blog'" in refused_model_change(linked)
    gitmig_ok(linked, "makemigrations", "--no-input")
    assert linked.commit().exit_code == 0


def test_a_hook_whose_python_is_gone_says_so(repo: Repo) -> None:
    gitmig_ok(repo, "hooks", "install")
    repo.git("config", "gitmig.python", "/nowhere/python3")
    add_slug(repo)
    run = repo.commit()
    assert run.exit_code != 0
    assert "the pre-commit hook's Python (/nowhere/python3) is gone" in run.stderr


# -- post-merge and post-checkout -------------------------------------------------------------

SECOND = """
from gitmig import ops

parents = ["0001_initial"]
operations: list[ops.Operation] = []
"""


def two_branches_adding_migrations(repo: Repo) -> None:
    """main and `other` each add a 0002 migration to blog (hooks skipped, as a user might),
    in a project from before lock files (with one, git itself stops the merge)."""
    repo.git("rm", "-q", "blog/migrations/gitmig.lock")
    repo.git("commit", "-q", "--no-verify", "-m", "no lock file")
    repo.git("checkout", "-q", "-b", "other")
    repo.write("blog/migrations/0002_other.py", SECOND)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "other")
    repo.git("checkout", "-q", "main")
    repo.write("blog/migrations/0002_mine.py", SECOND)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "mine")


@pytest.mark.slow
def test_post_merge_warns_about_conflicting_migrations(repo: Repo) -> None:
    gitmig_ok(repo, "hooks", "install")
    two_branches_adding_migrations(repo)
    run = repo.git("merge", "-q", "--no-edit", "other")
    assert run.exit_code == 0
    assert ("gitmig: warning: app 'blog' has conflicting migrations, several are latest "
            "(0002_mine, 0002_other); run `gitmig resolve blog` (renumbers this branch's new "
            "migrations after the other branch's; `--strategy merge` writes a merge migration "
            "instead)\n") in run.stderr


@pytest.mark.slow
def test_post_checkout_warns_on_a_branch_with_conflicts_only(repo: Repo) -> None:
    two_branches_adding_migrations(repo)
    repo.git("merge", "-q", "--no-edit", "other")  # no hooks yet: nothing said
    repo.git("branch", "-q", "conflicted")
    repo.git("reset", "-q", "--hard", "HEAD~1")
    gitmig_ok(repo, "hooks", "install")
    run = repo.git("checkout", "-q", "conflicted")
    assert "app 'blog' has conflicting migrations" in run.stderr
    run = repo.git("checkout", "-q", "main")
    assert run.stderr == ""
    run = repo.git("checkout", "-q", "conflicted", "--", "blog/migrations/0002_other.py")
    assert run.stderr == ""  # a file checkout is not a branch switch


def test_post_hooks_run_a_previous_hook_and_keep_its_status(repo: Repo) -> None:
    hook = repo.root / ".git" / "hooks" / "post-checkout"
    hook.write_bytes(b"#!/bin/sh\necho \"old hook: $3\" >&2\nexit 4\n")
    hook.chmod(0o755)
    repo.git("branch", "-q", "side")
    alone = repo.git("checkout", "-q", "side", check=False)
    assert alone.exit_code != 0
    repo.git("checkout", "-q", "main", check=False)
    gitmig_ok(repo, "hooks", "install")
    run = repo.git("checkout", "-q", "side", check=False)
    assert run.stderr == alone.stderr == "old hook: 1\n"
    assert run.exit_code == alone.exit_code  # git reports the old hook's failure as before


# -- the pre-commit framework -----------------------------------------------------------------


def framework_hook() -> dict[str, str]:
    """The one hook of .pre-commit-hooks.yaml, read as `key: value` lines."""
    hook: dict[str, str] = {}
    for line in (TOP / ".pre-commit-hooks.yaml").read_text().splitlines():
        if line.startswith(("- ", "  ")) and ":" in line:
            key, _, value = line[2:].partition(":")
            hook[key.strip()] = value.strip()
    return hook


@pytest.mark.slow
def test_the_pre_commit_framework_runs_the_same_check(repo: Repo) -> None:
    hook = framework_hook()
    assert hook["id"] == "gitmig"
    assert hook["language"] == "system"
    assert hook["pass_filenames"] == "false"
    assert hook["always_run"] == "true"
    env = repo.env(venv_on_path=True)  # the framework runs `entry` from the user's env

    def run_entry() -> subprocess.CompletedProcess[str]:
        return subprocess.run(shlex.split(hook["entry"]), cwd=repo.root, env=env,
                              capture_output=True, text=True)

    repo.write("notes.py", "x = 1\n")
    repo.git("add", "notes.py")
    assert run_entry().returncode == 0
    add_slug(repo)
    repo.git("add", "blog/models.py")
    proc = run_entry()
    assert proc.returncode == 1
    assert "fix: gitmig makemigrations blog && git add blog/migrations" in proc.stderr


# -- what the hooks may never do (tests/test_precommit.py checks the pre-commit check alone) --


def _files(repo: Repo) -> dict[str, bytes]:
    """The working tree and .git, but git's object store and gitmig's cache."""
    out = {}
    for path in sorted(repo.root.rglob("*")):
        rel = path.relative_to(repo.root).as_posix()
        if path.is_file() and not rel.startswith((".git/objects/", ".git/gitmig/")):
            out[rel] = path.read_bytes()
    return out


@pytest.mark.slow
def test_no_hook_changes_the_index_or_the_working_tree_in_any_state(tmp_path: Path) -> None:
    """Each hook script, run as git runs it, in a folder whose name would run commands in a
    careless script: refused commits, accepted ones, conflicts, and a merge half done."""
    nasty = tmp_path / "it's \"a\" $(touch pwned) `touch pwned` ; touch pwned"
    repo = make_repo(nasty / "proj", tmp_path / "home")
    gitmig_ok(repo, "hooks", "install")
    hooks = repo.root / ".git" / "hooks"
    head = repo.git("rev-parse", "HEAD").stdout.strip()

    def run_every_hook(state: str) -> list[int]:
        before = _files(repo)
        codes = []
        for name, args in (("pre-commit", []), ("post-merge", ["0"]),
                           ("post-checkout", [head, head, "1"])):
            proc = subprocess.run([str(hooks / name), *args], cwd=repo.root, env=repo.env(),
                                  capture_output=True, text=True)
            assert "Traceback" not in proc.stderr, (state, name, proc.stderr)
            assert _files(repo) == before, f"{name} changed files ({state})"
            codes.append(proc.returncode)
        return codes

    add_slug(repo)
    repo.git("add", "blog/models.py")
    assert run_every_hook("model change staged, no migration") == [1, 0, 0]
    gitmig_ok(repo, "makemigrations", "--no-input")
    repo.git("add", "-A")
    repo.write("blog/models.py", repo.read("blog/models.py") + "# an unstaged edit\n")
    assert run_every_hook("migration staged, unstaged edits") == [0, 0, 0]
    repo.git("commit", "-q", "--no-verify", "-m", "slug")
    repo.write("blog/migrations/0003_a.py", SECOND.replace("0001_initial", "0002_post_add_slug"))
    repo.write("blog/migrations/0003_b.py", SECOND.replace("0001_initial", "0002_post_add_slug"))
    repo.git("add", "-A")
    assert run_every_hook("conflicting migrations staged") == [1, 0, 0]
    repo.git("reset", "-q", "--hard")
    repo.git("checkout", "-q", "-b", "other", "HEAD~1")
    repo.write("blog/models.py", repo.read("blog/models.py").replace("200", "250"))
    repo.git("commit", "-q", "--no-verify", "-am", "other")
    repo.git("checkout", "-q", "main")
    assert repo.git("merge", "-q", "other", check=False).exit_code != 0  # a conflict
    assert run_every_hook("a merge stopped on a conflict")[1:] == [0, 0]
    assert list(tmp_path.rglob("pwned")) == [] and not Path("pwned").exists()


def test_install_and_uninstall_give_back_every_kind_of_existing_hook(repo: Repo) -> None:
    """Hooks with CRLF line ends, no final newline, binary bytes, odd modes, or a symlink
    come back exactly: bytes, mode, and the link itself."""
    hooks = repo.root / ".git" / "hooks"
    (repo.root / "tools").mkdir()
    (repo.root / "tools" / "merge-hook").write_bytes(b"#!/bin/sh\necho merged\n")
    (repo.root / "tools" / "merge-hook").chmod(0o755)
    (hooks / "pre-commit").write_bytes(b"#!/bin/sh\r\necho crlf\r\nexit 0")
    (hooks / "pre-commit").chmod(0o700)
    os.symlink("../../tools/merge-hook", hooks / "post-merge")
    (hooks / "post-checkout").write_bytes(b"#!/bin/sh\n# \xff\xfe\x00 not text\n")
    (hooks / "post-checkout").chmod(0o644)  # not executable: git would not run it either

    def kept() -> dict[str, tuple[bool, bytes | str, int]]:
        out: dict[str, tuple[bool, bytes | str, int]] = {}
        for name in HOOKS:
            path = hooks / name
            link = path.is_symlink()
            out[name] = (link, os.readlink(path) if link else path.read_bytes(),
                         stat.S_IMODE(os.lstat(path).st_mode))
        return out

    before = kept()
    for _ in range(2):
        gitmig_ok(repo, "hooks", "install")
        gitmig_ok(repo, "hooks", "install")
        assert all(_is_gitmig(hooks / n) for n in HOOKS)
        gitmig_ok(repo, "hooks", "uninstall")
        assert kept() == before
    assert sorted(p.name for p in hooks.iterdir() if not p.name.endswith(".sample")) == HOOKS


def _is_gitmig(path: Path) -> bool:
    return not path.is_symlink() and b"# gitmig-hook: " in path.read_bytes()
