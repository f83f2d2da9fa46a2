"""Models that misbehave while being imported (issue 11): an exit, a crash, a kill, a
print, an input() or an endless loop is an error that names it, never exit 0 with changes
pending, never text inside JSON, never a hang. And importing another revision's models
says so, naming the revision."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .gitrepo import SLUG, Repo, make_repo

# Models that hang, exit or kill the process importing them: full run only.
pytestmark = pytest.mark.slow


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "proj", tmp_path / "home")


def short(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", "--short", rev).stdout.strip()


def on_branch(repo: Repo, code: str) -> None:
    """Branch `other`: a model change plus `code` at the end of blog/models.py."""
    repo.git("checkout", "-q", "-b", "other")
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG + code)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "other")
    repo.git("checkout", "-q", "main")


def test_importing_another_revision_s_models_says_so(repo: Repo) -> None:
    on_branch(repo, "")
    result = repo.gitmig("diff", "other")
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"gitmig: importing the models of {short(repo, 'other')} (other) "
                             "to read their schema\n")
    result = repo.gitmig("makemigrations", "--rev", "other", "--check")
    assert result.exit_code == 1, result.output
    assert (f"gitmig: importing the models and migrations of {short(repo, 'other')} (other) "
            "to read their schema\n") in result.stderr
    assert repo.gitmig("diff").stderr == ""  # HEAD and the working tree: the user's own code


@pytest.mark.parametrize(("code", "said"), [
    ("import os\nos._exit(0)\n", "the models called os._exit(0) while being imported"),
    ("import posix\nposix._exit(0)\n", "exited with status 0 without finishing while "
                                       "importing app 'blog'"),
    ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n",
     "was killed by SIGKILL while importing app 'blog'"),
    ("import sys\nsys.exit(0)\n", "SystemExit"),
])
def test_another_revision_s_models_that_do_not_finish(repo: Repo, code: str, said: str) -> None:
    on_branch(repo, code)
    for args in (("diff", "other"), ("diff", "--json", "other"),
                 ("makemigrations", "--rev", "other", "--check")):
        result = repo.gitmig(*args)
        assert result.exit_code == 2, (args, result.output)
        assert said in result.stderr, (args, result.stderr)
        assert result.stdout == ""
        assert result.stderr.splitlines()[-1].startswith("gitmig: error: ")


@pytest.mark.parametrize("args", [("makemigrations", "--check"), ("status",), ("diff",)])
def test_os_exit_in_the_working_tree_s_models_is_an_error(repo: Repo,
                                                          args: tuple[str, ...]) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG + "import os\nos._exit(0)\n")
    result = repo.gitmig(*args)
    assert result.exit_code == (1 if args == ("status",) else 2), result.output  # status: a problem
    assert "the models called os._exit(0) while being imported" in result.output


def test_what_models_print_goes_to_stderr_never_into_json(repo: Repo) -> None:
    on_branch(repo, "print('hello from other')\n")
    repo.write("blog/models.py",
               repo.read("blog/models.py") + SLUG + "print('hello from here')\n")
    status = repo.gitmig("status", "--json")
    assert "hello from here" in status.stderr
    json.loads(status.stdout)
    diff = repo.gitmig("diff", "--json", "other", "HEAD")
    assert diff.exit_code == 0, diff.output
    json.loads(diff.stdout)
    assert "hello from other" in diff.stderr
    here = repo.gitmig("diff", "--json")
    assert here.exit_code == 0, here.output
    json.loads(here.stdout)


def test_input_in_staged_models_fails_the_hook_naming_the_file(repo: Repo) -> None:
    assert repo.gitmig("hooks", "install").exit_code == 0
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG + "input('? ')\n")
    repo.git("add", "-A")
    run = repo.commit(message="asks")
    assert run.exit_code != 0, run.output
    assert "EOFError" in run.stderr and "blog/models.py" in run.stderr, run.stderr


def test_an_endless_import_of_staged_models_is_stopped_naming_the_app(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG + "while True:\n    pass\n")
    repo.git("add", "-A")
    result = repo.gitmig("hooks", "run", "pre-commit", env={"GITMIG_MODELS_TIMEOUT": "2"})
    assert result.exit_code != 0, result.output
    assert "did not finish within 2 s (app 'blog' did not finish)" in result.stderr, \
        result.stderr
    assert "models_timeout" in result.stderr


def test_models_timeout_must_be_a_number(repo: Repo) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        "[tool.gitmig.apps]", 'models_timeout = "soon"\n\n[tool.gitmig.apps]'))
    result = repo.gitmig("status")
    assert result.exit_code == 2
    assert "models_timeout in" in result.stderr and "must be a number of seconds" in result.stderr
