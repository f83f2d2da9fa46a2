"""The pre-commit hook lints the staged migrations: it prints the findings and lets the
commit through, unless [tool.gitmig.lint] block names the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from .gitrepo import Repo, make_repo

pytestmark = pytest.mark.slow  # real `git commit` runs with the hook installed

TITLE = "    title: Mapped[str] = mapped_column(sa.String(200))\n"


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    assert repo.gitmig("hooks", "install").exit_code == 0
    repo.write("blog/models.py", repo.read("blog/models.py").replace(TITLE, ""))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    return repo


def test_findings_are_printed_and_the_commit_goes_through(repo: Repo) -> None:
    before = repo.commits()
    run = repo.commit()
    assert run.exit_code == 0, run.output
    assert repo.commits() == before + 1
    name = repo.migrations("blog")[-1]
    assert (f"gitmig: lint: blog/migrations/{name}:11: error drop-column: drops column "
            "post.title and its values") in run.stderr.splitlines()


def test_a_blocked_rule_refuses_the_commit(repo: Repo) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml")
               + '\n[tool.gitmig.lint]\nblock = ["drop-column"]\n')
    before = repo.commits()
    run = repo.commit()
    assert run.exit_code != 0
    assert repo.commits() == before
    assert "(blocks the commit)" in run.stderr
    assert run.stderr.splitlines()[-1].startswith(
        "gitmig: commit refused: lint found drop-column, which [tool.gitmig.lint] block names")


def test_an_allowed_finding_does_not_block(repo: Repo) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml")
               + '\n[tool.gitmig.lint]\nblock = ["drop-column"]\n')
    path = "blog/migrations/" + repo.migrations("blog")[-1]
    text = repo.read(path)
    line = '    ops.DropColumn("post", "title"),\n'
    assert line in text
    repo.write(path, text.replace(line, line[:-1] + "  # gitmig: allow drop-column unused\n"))
    run = repo.commit()
    assert run.exit_code == 0, run.output
    assert "drop-column" not in run.stderr
