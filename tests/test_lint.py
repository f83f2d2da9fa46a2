"""`gitmig lint` as a user runs it: a branch's new migrations judged against main, its
output (text, JSON, GitHub annotations), exit codes, silencing and the running code."""

from __future__ import annotations

import json
import os

import pytest

from .conftest import assert_refused
from .gitrepo import Repo


def branch_with(repo: Repo, old: str, new: str, *extra: str) -> None:
    """A branch `feature` whose models change `old` to `new`, with its migration."""
    repo.git("checkout", "-q", "-b", "feature")
    text = repo.read("blog/models.py")
    assert old in text
    repo.write("blog/models.py", text.replace(old, new))
    made = repo.gitmig("makemigrations", "--no-input", *extra)
    assert made.exit_code == 0, made.output


INDEXED = "    title: Mapped[str] = mapped_column(sa.String(200), index=True)\n"
TITLE = "    title: Mapped[str] = mapped_column(sa.String(200))\n"


def test_an_index_on_an_existing_table_is_an_error_on_postgresql(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    result = repo.gitmig("lint", "--dialect", "postgresql")
    assert result.exit_code == 1, result.output
    name = repo.migrations("blog")[-1]
    assert result.stdout.splitlines()[:4] == [
        "Linted 1 migration (the migrations added since "
        f"{repo.git('rev-parse', '--short=7', 'main').stdout.strip()} (merge base with main)) "
        "for postgresql.",
        "",
        f"blog.{name[:-3]}  (blog/migrations/{name})",
        "  Create index ix_post_title on post (title)  (line 11)",
    ]
    assert ("    error pg-index-not-concurrent: builds index ix_post_title on post while "
            "blocking every write to it") in result.stdout
    assert "safe: CreateIndex(..., concurrently=True)" in result.stdout
    assert result.stdout.rstrip().endswith("1 error, 1 warning, 0 notices")
    assert result.stderr.startswith("gitmig: lint found 1 error")


def test_the_same_migration_is_fine_on_sqlite(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    result = repo.gitmig("lint")  # the configured database is SQLite
    assert result.exit_code == 0, result.output
    assert "for sqlite." in result.stdout
    assert result.stdout.rstrip().endswith("0 errors, 0 warnings, 0 notices")


def test_nothing_new_on_the_branch(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    result = repo.gitmig("lint", "--dialect", "postgresql")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Nothing to lint: no migrations in the migrations added")


def test_all_judges_every_migration_and_json_lists_findings(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    result = repo.gitmig("lint", "--all", "--dialect", "postgresql", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["databases"] == ["postgresql"]
    assert [m.split(".")[1][:4] for m in data["migrations"]] == ["0001", "0002"]
    rules = [f["rule"] for f in data["findings"]]
    assert rules == ["pg-index-not-concurrent", "pg-no-lock-timeout"]
    assert data["findings"][0]["line"] == 11
    assert data["findings"][0]["path"] == "blog/migrations/" + repo.migrations("blog")[-1]


def test_github_annotations_point_at_the_operation(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    result = repo.gitmig("lint", "--dialect", "postgresql", "--format", "github")
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    path = "blog/migrations/" + repo.migrations("blog")[-1]
    assert first.startswith(f"::error file={path},line=11,title=gitmig lint "
                            "pg-index-not-concurrent::builds index ix_post_title")


def test_a_comment_allows_a_finding_and_show_allowed_lists_it(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    path = "blog/migrations/" + repo.migrations("blog")[-1]
    text = repo.read(path)
    repo.write(path, text.replace(
        '    ops.CreateIndex("ix_post_title", "post", ["title"]),\n',
        '    ops.CreateIndex("ix_post_title", "post", ["title"]),'
        "  # gitmig: allow pg-index-not-concurrent post has 10 rows\n"))
    assert "gitmig: allow" in repo.read(path)
    result = repo.gitmig("lint", "--dialect", "postgresql")
    assert result.exit_code == 0, result.output
    assert "pg-index-not-concurrent" not in result.stdout
    assert "(1 allowed; --show-allowed lists them)" in result.stdout
    shown = repo.gitmig("lint", "--dialect", "postgresql", "--show-allowed")
    assert shown.exit_code == 0
    assert "(allowed: post has 10 rows)" in shown.stdout


def test_configuration_allows_a_rule_everywhere(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    repo.write("pyproject.toml", repo.read("pyproject.toml") +
               '\n[tool.gitmig.lint]\nallow = ["pg-index-not-concurrent"]\n'
               'severity = { "pg-no-lock-timeout" = "error" }\n')
    result = repo.gitmig("lint", "--dialect", "postgresql", "--show-allowed")
    assert result.exit_code == 1
    assert "(allowed: allowed in [tool.gitmig.lint])" in result.stdout
    assert "error pg-no-lock-timeout" in result.stdout


def test_an_unknown_rule_in_the_configuration_is_refused(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    repo.write("pyproject.toml", repo.read("pyproject.toml") +
               '\n[tool.gitmig.lint]\nallow = ["pg-index-not-concurent"]\n')
    line = assert_refused(repo.gitmig("lint", "--dialect", "postgresql"))
    assert "'pg-index-not-concurent', which does not exist" in line


@pytest.mark.parametrize("args", [["--all", "--unapplied"], ["--against", "nope"]])
def test_bad_selections_are_refused(repo: Repo, args: list[str]) -> None:
    assert_refused(repo.gitmig("lint", *args))


def test_rules_are_listed(repo: Repo) -> None:
    result = repo.gitmig("lint", "--rules")
    assert result.exit_code == 0
    ids = [line.split()[0] for line in result.stdout.splitlines()]
    assert "drop-column" in ids and "pg-index-not-concurrent" in ids


def test_unapplied_judges_what_the_database_lacks(repo: Repo) -> None:
    branch_with(repo, TITLE, INDEXED)
    assert repo.gitmig("migrate", "blog", "0001").exit_code == 0
    result = repo.gitmig("lint", "--unapplied", "--dialect", "postgresql", "--json")
    data = json.loads(result.stdout)
    assert [m.split(".")[1][:4] for m in data["migrations"]] == ["0002"]
    assert result.exit_code == 1


@pytest.mark.slow  # the merge base's models load in a child process
def test_a_dropped_column_names_the_model_of_the_running_code(repo: Repo, tmp_path) -> None:
    """The merge base's models are imported in a child process, never in gitmig's."""
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "from sqlalchemy.orm", "import os, pathlib\n"
        "pathlib.Path(os.environ.get('LINT_PIDS', os.devnull)).open('a')"
        ".write(f'{os.getpid()}\\n')\nfrom sqlalchemy.orm"))
    repo.commit(message="models note who imports them")
    branch_with(repo, TITLE, "")
    pids = tmp_path / "pids"
    result = repo.gitmig("lint", env={"LINT_PIDS": str(pids)})
    assert result.exit_code == 1, result.output
    base = repo.git("rev-parse", "--short=7", "main").stdout.strip()
    assert (f"    error column-still-mapped: drops column post.title, which model "
            f"blog.models.Post (the models at {base}) still maps") in result.stdout
    assert "    error drop-column: drops column post.title and its values" in result.stdout
    imported = pids.read_text().split()
    assert imported and str(os.getpid()) not in imported


@pytest.mark.slow  # the merge base's models load in a child process
def test_a_column_the_running_code_never_had_is_dropped_without_that_error(repo: Repo) -> None:
    repo.git("checkout", "-q", "-b", "feature")
    text = repo.read("blog/models.py")
    repo.write("blog/models.py", text + "    note: Mapped[str | None] = mapped_column(sa.Text)\n")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.write("blog/models.py", text)
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    result = repo.gitmig("lint")
    assert "column-still-mapped" not in result.stdout
    assert "drop-column" not in result.stdout  # the column was never released
    assert result.exit_code == 0, result.output


def test_makemigrations_prints_the_findings_of_what_it_wrote(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").replace(TITLE, ""))
    made = repo.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    name = repo.migrations("blog")[-1][:-3]
    assert made.stderr.splitlines()[:2] == [
        "gitmig lint: 1 error, 0 warnings, 0 notices in what was just written:",
        f"  blog.{name}: error drop-column: drops column post.title and its values",
    ]
    assert repo.migrations("blog")[-1].startswith("0002")  # written all the same


def test_several_databases_say_a_common_finding_once(repo: Repo) -> None:
    branch_with(repo, TITLE, "")
    result = repo.gitmig("lint", "--all", "--dialect", "sqlite", "--dialect", "mysql", "--json")
    found = [(f["rule"], f["database"]) for f in json.loads(result.stdout)["findings"]]
    assert ("drop-column", "sqlite,mysql") in found
    assert [r for r, _ in found].count("drop-column") == 1
