"""The pre-commit hook, as a user meets it: `git commit` with `gitmig hooks install` done.

It judges exactly what is staged, never the unstaged edits, and never changes either.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import BASE
from .gitrepo import POST, SLUG, Repo, add_slug, make_repo

REFUSED = "gitmig: commit refused (see above); `git commit --no-verify` skips this check"


def installed(repo: Repo) -> Repo:
    result = repo.gitmig("hooks", "install")
    assert result.exit_code == 0, result.output
    return repo


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return installed(make_repo(tmp_path / "proj", tmp_path / "home"))


def refused(repo: Repo, *paths: str) -> list[str]:
    """`git commit` (of PATHS, or all) must be refused; returns the hook's lines."""
    before = repo.commits()
    run = repo.commit(*paths)
    assert run.exit_code != 0, run.output
    assert repo.commits() == before
    return run.stderr.splitlines()


def committed(repo: Repo, *paths: str) -> None:
    before = repo.commits()
    run = repo.commit(*paths)
    assert run.exit_code == 0, run.output
    assert run.stderr == ""
    assert repo.commits() == before + 1


def make_migration(repo: Repo) -> None:
    result = repo.gitmig("makemigrations", "--no-input")
    assert result.exit_code == 0, result.output


def test_a_model_change_without_its_migration_is_refused(repo: Repo) -> None:
    add_slug(repo)
    assert refused(repo, "blog/models.py") == [
        "gitmig: app 'blog': the staged models have changes without a staged migration:",
        "    + Add column slug to post",
        "  fix: gitmig makemigrations blog && git add blog/migrations",
        REFUSED,
    ]
    staged = repo.git("diff", "--cached", "--name-only").stdout
    assert staged == "blog/models.py\n"  # the index is left as the user staged it


def test_with_its_migration_staged_the_commit_goes_through(repo: Repo) -> None:
    add_slug(repo)
    make_migration(repo)
    committed(repo, "blog/models.py", "blog/migrations")


def test_a_migration_written_but_not_staged_is_named(repo: Repo) -> None:
    add_slug(repo)
    make_migration(repo)
    lines = refused(repo, "blog/models.py")
    assert lines[2] == ("  the migration is in the working tree but not staged: "
                        "git add blog/migrations/0002_post_add_slug.py")


@pytest.mark.slow
def test_a_partially_staged_models_file_is_judged_on_its_staged_half(repo: Repo) -> None:
    add_slug(repo)
    make_migration(repo)
    repo.git("add", "blog/models.py", "blog/migrations")
    repo.write("blog/models.py", repo.read("blog/models.py") + "    body: Mapped[str]\n")
    before = repo.commits()
    run = repo.git("commit", "-q", "-m", "slug", check=False)
    assert run.exit_code == 0, run.output
    assert repo.commits() == before + 1
    assert repo.git("diff", "--name-only").stdout == "blog/models.py\n"  # body: still unstaged

    # The other way round: the staged half has a change, the working tree undoes it.
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    body: Mapped[str]\n", "    rank: Mapped[int | None]\n"))
    repo.git("add", "blog/models.py")
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    rank: Mapped[int | None]\n", ""))
    lines = repo.git("commit", "-q", "-m", "rank", check=False).stderr.splitlines()
    assert lines[:2] == [
        "gitmig: app 'blog': the staged models have changes without a staged migration:",
        "    + Add column rank to post",
    ]


@pytest.mark.slow
def test_commit_all_and_commit_of_paths_are_judged_on_what_they_commit(repo: Repo) -> None:
    add_slug(repo)  # not staged
    assert repo.git("commit", "-q", "-m", "x", "--allow-empty", check=False).exit_code == 0
    for args in (["-a"], ["blog/models.py"]):
        run = repo.git("commit", "-q", "-m", "slug", *args, check=False)
        assert run.exit_code != 0
        assert "    + Add column slug to post" in run.stderr.splitlines()


def test_conflicting_staged_migrations_are_refused(repo: Repo) -> None:
    for name in ("0002_left", "0002_right"):
        repo.write(f"blog/migrations/{name}.py", 'parents = ["0001_initial"]\noperations = []\n')
    assert refused(repo) == [
        "gitmig: app 'blog': the staged migrations conflict, several are latest (0002_left, "
        "0002_right); run `gitmig resolve blog` (renumbers this branch's new migrations after "
        "the other branch's; `--strategy merge` writes a merge migration instead), then "
        "stage the result",
        REFUSED,
    ]


def test_a_staged_migration_that_does_not_parse_is_refused(repo: Repo) -> None:
    repo.write("blog/migrations/0002_broken.py", 'parents = ["0001_initial"]\noperations = [\n')
    lines = refused(repo)
    assert lines[0].startswith("gitmig: blog/migrations/0002_broken.py:2: syntax error")
    assert lines[0].endswith("(a staged migration that does not parse)")


def test_staged_models_that_do_not_import_are_refused(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py") + "\nundefined_name + 1\n")
    lines = refused(repo)
    assert lines[0].startswith("gitmig: cannot import the models of the index: blog/models.py:13:")
    assert "NameError" in lines[0] and lines[0].endswith("(as staged)")
    assert lines[1:] == [REFUSED]


def test_the_check_changes_neither_the_index_nor_the_working_tree(repo: Repo) -> None:
    add_slug(repo)
    repo.git("add", "blog/models.py")
    repo.write("blog/models.py", repo.read("blog/models.py") + "    body: Mapped[str | None]\n")
    make_migration(repo)
    index = (repo.root / ".git" / "index").read_bytes()
    files = {k: v for k, v in repo.snapshot().items() if not k.startswith(".git/")}
    run = repo.run_python("-m", "gitmig", "hooks", "run", "pre-commit")
    assert run.exit_code == 1
    assert (repo.root / ".git" / "index").read_bytes() == index
    assert {k: v for k, v in repo.snapshot().items() if not k.startswith(".git/")} == files


@pytest.mark.slow
def test_the_first_commit_of_a_new_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.git("init", "-q", "-b", "main")
    repo.write("pyproject.toml", '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", BASE + POST)
    installed(repo)
    assert "    + Create table post" in refused(repo)
    make_migration(repo)
    committed(repo)


@pytest.mark.slow
def test_a_models_package_counts_every_file_in_it(tmp_path: Path) -> None:
    repo = installed(make_repo(tmp_path / "proj", tmp_path / "home"))
    (repo.root / "blog/models.py").unlink()
    repo.write("blog/models/__init__.py", "from .base import *  # noqa\nfrom .post import Post\n")
    repo.write("blog/models/base.py", BASE)
    repo.write("blog/models/post.py", "from .base import *  # noqa\n" + POST)
    committed(repo)  # the same tables, moved into a package
    repo.write("blog/models/post.py", repo.read("blog/models/post.py") + SLUG)
    assert "    + Add column slug to post" in refused(repo, "blog/models/post.py")


# -- the fast path ----------------------------------------------------------------------------


def imported_modules(repo: Repo) -> tuple[int, str]:
    """Run the check as the hook does, with -X importtime: (exit code, its import log)."""
    run = repo.run_python("-X", "importtime", "-P", "-m", "gitmig", "hooks", "run", "pre-commit")
    assert "gitmig.entry" in run.stderr  # the log is there
    return run.exit_code, run.stderr


@pytest.mark.slow
def test_a_commit_touching_no_model_does_not_import_sqlalchemy(repo: Repo) -> None:
    repo.write("blog/views.py", "from blog.models import Post\n")
    repo.write("blog/helpers.py", "LENGTH = 50\n")
    repo.write("notes.txt", "no python\n")
    repo.git("add", "-A")
    code, log = imported_modules(repo)
    assert code == 0
    assert "sqlalchemy" not in log
    committed(repo)

    # A file the models import, even through another module, is a model change.
    repo.write("blog/models.py", "from .shapes import *  # noqa\n" + repo.read("blog/models.py"))
    repo.write("blog/shapes.py", "from blog.helpers import LENGTH\n")
    committed(repo)
    repo.write("blog/helpers.py", "LENGTH = 60\n")
    repo.git("add", "blog/helpers.py")
    code, log = imported_modules(repo)
    assert code == 0
    assert "sqlalchemy" in log
    repo.write("blog/views.py", "from blog.models import Post  # edited\n")
    repo.git("reset", "-q", "blog/helpers.py")
    repo.git("add", "blog/views.py")
    code, log = imported_modules(repo)
    assert code == 0 and "sqlalchemy" not in log


def test_the_hook_script_answers_without_python_when_no_python_file_is_staged(
    repo: Repo,
) -> None:
    repo.git("config", "gitmig.python", str(repo.root / "no-python-here"))
    repo.write("notes.txt", "no python\n")
    committed(repo, "notes.txt")  # the recorded Python was never needed
    repo.write("notes.py", "x = 1\n")
    assert "no-python-here) is gone" in refused(repo, "notes.py")[0]


# -- paths that would break a careless shell script -------------------------------------------


@pytest.mark.slow
def test_quotes_spaces_and_command_substitution_in_paths_run_nothing(tmp_path: Path) -> None:
    nasty = tmp_path / "it's a \"repo\" $(touch pwned)"
    repo = make_repo(nasty / "proj", tmp_path / "home")
    # The hooks folder, the old hook kept beside gitmig's and the recorded Python all live
    # under the nasty name, so the hook scripts see it in $0 and in gitmig.python.
    hooks = nasty / "hooks `touch pwned`"
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\necho \"old hook in $0\" >&2\n")
    (hooks / "pre-commit").chmod(0o755)
    repo.git("config", "core.hooksPath", str(hooks))
    installed(repo)
    python = nasty / "bin $(touch pwned)" / "python"
    python.parent.mkdir()
    python.write_text(f"#!/bin/sh\nexec {shlex.quote(sys.executable)} \"$@\"\n")
    python.chmod(0o755)
    repo.git("config", "gitmig.python", str(python))

    repo.write("blog/it's $(touch pwned) `touch pwned`.py", "x = 1\n")
    run = repo.commit()
    assert run.exit_code == 0, run.output
    assert f"old hook in {hooks}/pre-commit.gitmig-orig" in run.stderr
    add_slug(repo)
    assert "    + Add column slug to post" in refused(repo)
    make_migration(repo)
    assert repo.commit().exit_code == 0
    repo.git("checkout", "-q", "-b", "other")
    result = repo.gitmig("diff", "HEAD~2")
    assert result.exit_code == 0, result.output
    assert "+ Add column slug to post" in result.stdout
    assert list(tmp_path.glob("**/pwned")) == []
    assert not (Path.cwd() / "pwned").exists()


@pytest.mark.slow
def test_a_project_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    repo = installed(make_repo(top / "services" / "api", tmp_path / "home", top=top))
    add_slug(repo)
    fix = refused(repo)[2]
    assert fix == ("  fix: gitmig --config services/api/pyproject.toml makemigrations blog "
                   "&& git add services/api/blog/migrations")
    result = subprocess.run(fix.removeprefix("  fix: "), shell=True, cwd=top, capture_output=True,
                            text=True, env=repo.env(venv_on_path=True))
    assert result.returncode == 0, result.stderr  # the command works where git runs hooks
    committed(repo)
