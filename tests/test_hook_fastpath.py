"""The pre-commit hook script's shortcut: a commit that stages no model, no file the models
import and no migration is let through by the script alone, without starting Python.

Each check leaves a record in the git dir (gitmig/precommit-watch): the tree it judged, the
files the models import (there or not) and the folders where any file counts. Here the
recorded Python is a wrapper that logs each start, so a test sees when the script trusted
the record and when it ran the check; whatever happens to the record or to HEAD, an
unmigrated model change is still refused.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from .conftest import BASE
from .gitrepo import POST, Repo, add_slug, make_repo

pytestmark = pytest.mark.slow  # many commits, each starting git hooks and Python

REFUSED = "the staged models have changes without a staged migration"

# The models take a length from another module of the project.
IMPORTING = BASE + """
from blog.lengths import TITLE


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE))
"""

# The same, with a default for when that module is not there.
OPTIONAL = IMPORTING.replace(
    "from blog.lengths import TITLE\n",
    "try:\n    from blog.lengths import TITLE\nexcept ImportError:\n    TITLE = 200\n",
)


class Hooked:
    """A committed project with the hooks installed; `starts` counts the Python starts."""

    def __init__(self, repo: Repo) -> None:
        self.repo = repo
        result = repo.gitmig("hooks", "install")
        assert result.exit_code == 0, result.output
        self.log = repo.home / "python-starts.log"
        wrapper = repo.home / "bin" / "python"
        wrapper.parent.mkdir(exist_ok=True)
        wrapper.write_text(f"#!/bin/sh\necho started >> {shlex.quote(str(self.log))}\n"
                           f"exec {shlex.quote(sys.executable)} \"$@\"\n")
        wrapper.chmod(0o755)
        repo.git("config", "gitmig.python", str(wrapper))

    @property
    def starts(self) -> int:
        return len(self.log.read_text().splitlines()) if self.log.exists() else 0

    @property
    def record(self) -> Path:
        gitdir = self.repo.git("rev-parse", "--absolute-git-dir").stdout.strip()
        return Path(gitdir) / "gitmig" / "precommit-watch"

    def commit(self, *paths: str, python: bool) -> None:
        """Stage PATHS (all when none) and commit; it must go through, starting Python or not."""
        before, commits = self.starts, self.repo.commits()
        run = self.repo.commit(*paths)
        assert run.exit_code == 0, run.output
        assert self.repo.commits() == commits + 1
        assert self.starts == before + python, "Python started" if not python else "it did not"

    def refused(self, *paths: str) -> str:
        before, commits = self.starts, self.repo.commits()
        run = self.repo.commit(*paths)
        assert run.exit_code != 0, run.output
        assert self.repo.commits() == commits
        assert self.starts == before + 1
        return run.stderr


@pytest.fixture
def hooked(tmp_path: Path) -> Hooked:
    return Hooked(make_repo(tmp_path / "proj", tmp_path / "home"))


def lengths(hooked: Hooked, models: str = IMPORTING) -> None:
    """Commit (through the hook) models that take the title's length from blog/lengths.py."""
    hooked.repo.write("blog/lengths.py", "TITLE = 200\n")
    hooked.repo.write("blog/models.py", models)
    hooked.commit(python=True)  # the same schema: nothing to migrate


def test_after_one_check_commits_of_other_python_files_do_not_start_python(
    hooked: Hooked,
) -> None:
    repo = hooked.repo
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)  # no record yet
    assert hooked.record.is_file()
    repo.write("blog/views.py", "from blog.models import Post\n")  # uses the models: no matter
    hooked.commit(python=False)
    repo.write("util.py", "x = 2\n")
    repo.write("notes.txt", "more\n")
    repo.write("tools/deploy.py", "import util\n")
    hooked.commit(python=False)
    repo.git("rm", "-q", "util.py")
    hooked.commit("tools", python=False)

    # `git commit -a` and `git commit PATHS` judge git's temporary index, as the check does
    repo.write("blog/views.py", "from blog.models import Post  # edited\n")
    before = hooked.starts
    assert repo.git("commit", "-q", "-a", "-m", "all").exit_code == 0
    add_slug(repo)
    repo.write("tools/deploy.py", "import os\n")
    assert repo.git("commit", "-q", "-m", "one", "tools/deploy.py").exit_code == 0
    assert hooked.starts == before
    run = repo.git("commit", "-q", "-m", "models", "blog/models.py", check=False)
    assert run.exit_code != 0 and REFUSED in run.stderr
    assert hooked.starts == before + 1
    assert REFUSED in hooked.refused()  # and with everything staged


def test_the_models_the_files_they_import_and_the_project_files_are_still_checked(
    hooked: Hooked,
) -> None:
    repo = hooked.repo
    lengths(hooked)
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=False)

    repo.write("blog/lengths.py", "TITLE = 250\n")
    assert REFUSED in hooked.refused()
    repo.git("checkout", "-q", "HEAD", "--", "blog/lengths.py")
    add_slug(repo)
    assert "    + Add column slug to post" in hooked.refused()
    repo.git("checkout", "-q", "HEAD", "--", "blog/models.py")

    repo.write("pyproject.toml", repo.read("pyproject.toml") + "# a comment\n")
    repo.write("util.py", "x = 2\n")
    hooked.commit(python=True)
    repo.write("blog/migrations/README.txt", "how to write one\n")  # any file there counts
    repo.write("util.py", "x = 3\n")
    hooked.commit(python=True)
    repo.write("blog/__init__.py", "# the package runs first\n")  # so does its __init__
    hooked.commit(python=True)
    repo.write("util.py", "x = 4\n")
    hooked.commit(python=False)


def test_models_that_import_more_after_a_commit_without_the_hook_are_checked(
    hooked: Hooked,
) -> None:
    repo = hooked.repo
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)  # recorded: the models import no blog/lengths.py
    repo.write("blog/lengths.py", "TITLE = 200\n")
    repo.write("blog/models.py", IMPORTING)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "lengths")
    repo.write("blog/lengths.py", "TITLE = 250\n")
    assert REFUSED in hooked.refused()


def test_models_that_import_more_after_a_checkout_or_a_merge_are_checked(
    hooked: Hooked,
) -> None:
    repo = hooked.repo
    lengths(hooked)
    repo.git("checkout", "-q", "-b", "other", "HEAD~1")  # models without the import
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)  # recorded: the models import no blog/lengths.py
    repo.git("checkout", "-q", "main")
    repo.write("blog/lengths.py", "TITLE = 250\n")
    assert REFUSED in hooked.refused()

    repo.git("checkout", "-q", "-f", "other")
    repo.write("util.py", "x = 2\n")
    hooked.commit(python=True)  # the record was of main's index, refused just now
    repo.write("util.py", "x = 3\n")
    hooked.commit(python=False)
    assert repo.git("merge", "-q", "--no-edit", "main").exit_code == 0
    repo.write("blog/lengths.py", "TITLE = 250\n")
    assert REFUSED in hooked.refused()


def test_a_new_file_where_the_models_look_for_a_module_is_checked(hooked: Hooked) -> None:
    repo = hooked.repo
    repo.write("blog/models.py", OPTIONAL)
    hooked.commit(python=True)  # recorded: blog/lengths.py, not there
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=False)
    repo.write("blog/lengths.py", "TITLE = 250\n")
    assert REFUSED in hooked.refused()
    repo.write("blog/lengths.py", "TITLE = 200\n")  # what the default was: no model change
    hooked.commit(python=True)


def _truncated(text: str) -> str:
    return text.removesuffix("end\n")


def _extended(text: str) -> str:
    return text + "path more.py\n"


def _no_such_tree(text: str) -> str:
    first, _, rest = text.partition("\n")
    return f"{first.split()[0]} {'0' * 40}\n{rest}"


def _an_option_as_tree(text: str) -> str:
    first, _, rest = text.partition("\n")
    return f"{first.split()[0]} --output=pwned\n{rest}"


def _another_version(text: str) -> str:
    return text.replace("gitmig-precommit-watch-1 ", "gitmig-precommit-watch-0 ", 1)


BROKEN = {
    "empty": lambda text: "",
    "binary": lambda text: "\x00\xff\xfe garbage\n\n\x00",
    "truncated": _truncated,
    "after-the-end": _extended,
    "no-such-tree": _no_such_tree,
    "an-option-as-tree": _an_option_as_tree,
    "another-version": _another_version,
    "crlf": lambda text: text.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("breakage", sorted(BROKEN))
def test_a_broken_record_runs_the_check_and_is_written_again(
    hooked: Hooked, breakage: str
) -> None:
    repo = hooked.repo
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)
    hooked.record.write_bytes(BROKEN[breakage](hooked.record.read_text()).encode("latin-1"))
    repo.write("util.py", "x = 2\n")
    hooked.commit(python=True)
    repo.write("util.py", "x = 3\n")
    hooked.commit(python=False)
    add_slug(repo)
    assert REFUSED in hooked.refused()
    assert not (repo.root / "pwned").exists()


def test_another_recorded_configuration_runs_the_check(hooked: Hooked) -> None:
    repo = hooked.repo
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)
    repo.git("config", "gitmig.config", "./pyproject.toml")
    repo.write("util.py", "x = 2\n")
    hooked.commit(python=True)
    repo.write("util.py", "x = 3\n")
    hooked.commit(python=False)


def test_a_record_that_cannot_be_written_costs_only_the_shortcut(hooked: Hooked) -> None:
    hooked.record.mkdir(parents=True)  # a folder where the file would go
    repo = hooked.repo
    for n in range(2):
        repo.write("util.py", f"x = {n}\n")
        hooked.commit(python=True)
    add_slug(repo)
    assert REFUSED in hooked.refused()


def test_quotes_spaces_and_command_substitution_in_paths_run_nothing(tmp_path: Path) -> None:
    top = tmp_path / "it's a \"repo\" $(touch pwned)"
    folder = "it's a $(touch pwned) `touch pwned` project"  # the record holds this path
    hooked = Hooked(make_repo(top / folder, tmp_path / "home", top=top))
    repo = hooked.repo
    repo.write("util $(touch pwned).py", "x = 1\n")
    hooked.commit(python=True)
    assert f"path {folder}/blog/models.py\n" in hooked.record.read_text()
    repo.write("it's `touch pwned` $(touch pwned); touch pwned.py", "x = 1\n")
    repo.write("ünïcode $(touch pwned).py", "x = 1\n")
    hooked.commit(python=False)
    repo.write('a "quoted" name $(touch pwned).py', "x = 1\n")  # git prints it quoted
    hooked.commit(python=True)
    repo.write("util $(touch pwned).py", "x = 2\n")
    hooked.commit(python=False)
    add_slug(repo)
    assert REFUSED in hooked.refused()
    assert list(tmp_path.rglob("pwned")) == [] and not Path("pwned").exists()


def test_each_linked_worktree_keeps_its_own_record(tmp_path: Path) -> None:
    main = Hooked(make_repo(tmp_path / "proj", tmp_path / "home"))
    linked = Repo(tmp_path / "feature $(touch pwned) 'tree'", main.repo.home)
    main.repo.git("worktree", "add", "-q", "-b", "feature", str(linked.root))
    feature = Hooked(linked)  # installed from the linked worktree: the hooks are shared
    for hooked, python in ((feature, True), (main, True), (feature, False), (main, False)):
        hooked.repo.write("util.py", f"x = {hooked.starts}\n")
        hooked.commit(python=python)
    assert feature.record.parents[2] == main.repo.root / ".git" / "worktrees"
    assert feature.record.is_file() and main.record.is_file()
    add_slug(linked)
    assert REFUSED in feature.refused()
    linked.git("reset", "-q")
    linked.write("util.py", "x = 9\n")
    feature.commit("util.py", python=True)  # the record was of the refused index
    linked.write("util.py", "x = 10\n")
    feature.commit("util.py", python=False)
    assert list(tmp_path.rglob("pwned")) == []


def test_a_hooks_path_outside_the_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    repo.git("config", "core.hooksPath", str(tmp_path / "shared hooks"))
    hooked = Hooked(repo)
    assert (tmp_path / "shared hooks" / "pre-commit").is_file()
    for python in (True, False):
        repo.write("util.py", f"x = {python}\n")
        hooked.commit(python=python)
    add_slug(repo)
    assert REFUSED in hooked.refused()


def test_a_folder_that_would_become_the_migrations_folder_counts(tmp_path: Path) -> None:
    """src layout: blog's migrations are in src/blog/migrations because no blog/ folder is
    at the top; staging one there moves them, so any file under it is checked."""
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig]\npythonpath = ["src"]\n'
                                 '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("src/blog/__init__.py", "")
    repo.write("src/blog/models.py", BASE + POST)
    repo.git("init", "-q", "-b", "main")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert (repo.root / "src/blog/migrations").is_dir()
    assert repo.commit(message="initial").exit_code == 0
    hooked = Hooked(repo)
    repo.write("util.py", "x = 1\n")
    hooked.commit(python=True)
    repo.write("blog/migrations/0001_other.py", "parents = [\n")
    assert "does not parse" in hooked.refused()
