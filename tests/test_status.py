"""`gitmig status`: what needs doing, in one screen; exit 1 when anything does."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import Project
from .gitrepo import SLUG, Repo, add_slug, gitmig_on_a_terminal

VIEWS = "    views: Mapped[int | None]\n"
CLEAN = "Nothing to do: models, migrations and the database agree.\n"
SECOND = ('from gitmig import ops\n\nparents = ["0001_initial"]\n'
          "operations: list[ops.Operation] = []\n")


def status(repo: Project, *args: str, code: int = 1) -> str:
    result = repo.gitmig("status", *args)
    assert result.exit_code == code, result.output
    assert result.stderr == ""
    return result.stdout


def db(repo: Project) -> str:
    return f"sqlite:///{repo.root / 'db.sqlite3'}"


def test_all_agree(repo: Repo) -> None:
    assert repo.gitmig("migrate").exit_code == 0
    assert status(repo, code=0) == f"On branch main\nDatabase: {db(repo)}\n\n{CLEAN}"


def test_model_changes_in_the_working_tree_and_staged_and_unapplied_migrations(
    repo: Repo,
) -> None:
    add_slug(repo)
    repo.git("add", "blog/models.py")
    repo.write("blog/models.py", repo.read("blog/models.py") + VIEWS)

    assert status(repo) == (
        "On branch main\n"
        f"Database: {db(repo)}\n"
        "\n"
        "Model changes without a migration (run `gitmig makemigrations`):\n"
        "  blog\n"
        "    + Add column slug to post\n"
        "    + Add column views to post\n"
        "\n"
        "Staged model changes without a staged migration (run `gitmig makemigrations "
        "--staged`, then `git add` the new file):\n"
        "  blog\n"
        "    + Add column slug to post\n"
        "\n"
        "Migrations not applied to the database (run `gitmig migrate`):\n"
        "  blog.0001_initial\n"
    )
    assert not (repo.root / "db.sqlite3").exists()  # read-only: no database was created


def test_what_is_staged_alone_and_then_with_its_migration(repo: Repo) -> None:
    assert repo.gitmig("migrate").exit_code == 0
    add_slug(repo)
    repo.git("add", "-A")  # the index holds what the working tree does
    out = status(repo)
    assert "Staged model changes without a staged migration" in out
    assert out.count("    + Add column slug to post\n") == 2
    assert repo.gitmig("makemigrations").exit_code == 0
    out = status(repo)
    assert "Model changes without" not in out  # the working tree has its migration...
    assert "Staged model changes without a staged migration" in out  # ...the index not
    assert "  blog.0002_post_add_slug\n" in out
    repo.git("add", "-A")
    assert "Staged model changes" not in status(repo)
    repo.write("blog/models.py", repo.read("blog/models.py").replace(SLUG, ""))
    out = status(repo)  # the working tree undoes the change: only it needs a migration
    assert "Model changes without a migration" in out
    assert "    - Drop column slug from post\n" in out
    assert "Staged model changes" not in out


def test_conflicts_and_migrations_edited_after_they_were_applied(repo: Repo) -> None:
    assert repo.gitmig("migrate").exit_code == 0
    path = "blog/migrations/0001_initial.py"
    repo.write(path, repo.read(path).replace("length=200", "length=250"))
    repo.write("blog/models.py", repo.read("blog/models.py").replace("200", "250"))
    for name in ("0002_left", "0002_right"):
        repo.write(f"blog/migrations/{name}.py", SECOND)
    out = status(repo)
    assert out.endswith(
        "Migrations not applied to the database (run `gitmig migrate`):\n"
        "  blog.0002_left\n"
        "  blog.0002_right\n"
        "\n"
        "Conflicting migrations, several are latest (run `gitmig resolve APP`):\n"
        "  blog: 0002_left, 0002_right\n"
        "\n"
        "Applied migrations edited since (undo the edit and put the change in a new "
        "migration):\n"
        "  blog.0001_initial\n"
        "\n"  # the database has what the migration made before its edit:
        "Drift: the database differs from what its applied migrations make (put each "
        "change in a migration or undo it; `gitmig drift` for details):\n"
        "  ~ Alter column post.title: VARCHAR(250) -> VARCHAR(200)\n")
    assert "Model changes" not in out


def test_a_database_that_cannot_be_reached_is_one_line_and_the_rest_is_shown(
    repo: Repo,
) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"',
        'database = "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing"'))
    add_slug(repo)
    out = status(repo)
    lines = out.splitlines()
    assert lines[1].startswith("Database: postgresql+psycopg://nobody:***@127.0.0.1:1/nothing:"
                               " cannot be read: cannot connect to the database ")
    assert "secret" not in out
    assert "    + Add column slug to post" in lines
    assert "Migrations not applied" not in out  # unknown, not "everything"


def test_models_that_do_not_import_are_a_problem_line(repo: Repo) -> None:
    assert repo.gitmig("migrate").exit_code == 0
    repo.write("blog/models.py", repo.read("blog/models.py") + "\nundefined_name + 1\n")
    lines = status(repo).splitlines()
    assert lines[2].startswith(
        "Problem: cannot compare the models with the migrations: ")
    assert "NameError: name 'undefined_name' is not defined" in lines[2]


def test_a_broken_configuration_is_exit_2(repo: Repo) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "[tool.gitmig\n")
    result = repo.gitmig("status")
    assert result.exit_code == 2
    assert result.stderr.startswith("gitmig: error: ")
    assert "is not valid TOML" in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_json(repo: Repo) -> None:
    assert repo.gitmig("migrate").exit_code == 0
    repo.git("checkout", "-q", "-b", "feature")
    add_slug(repo)
    assert repo.gitmig("makemigrations").exit_code == 0
    repo.git("add", "-A")
    repo.git("commit", "-q", "-m", "slug")
    assert repo.gitmig("migrate").exit_code == 0
    commit = repo.git("rev-parse", "HEAD").stdout.strip()
    repo.git("checkout", "-q", "main")
    repo.write("blog/models.py", repo.read("blog/models.py") + VIEWS)

    result = repo.gitmig("status", "--json")

    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "branch": "main",
        "database": {"url": db(repo), "error": None},
        "model_changes": {"blog": [{"operation": "AddColumn",
                                    "description": "Add column views to post",
                                    "kind": "+", "destructive": False}]},
        "staged_model_changes": {},
        "unapplied": [],
        "applied_missing": [{"app": "blog", "name": "0002_post_add_slug",
                             "git_commit": commit,
                             "git_path": "blog/migrations/0002_post_add_slug.py",
                             "same_as_applied": True,
                             "same_bytes_as_applied": True,
                             "unapply": "gitmig migrate blog 0001"}],
        "conflicts": {},
        "edited": [],
        "problems": [],
        "drift": None,  # not compared: an applied migration has no file here
        "unmanaged_tables": [],
        "drift_error": None,
        "clean": False,
    }
    assert repo.gitmig("migrate", "blog", "0001").exit_code == 0
    (repo.root / "blog/models.py").write_text(repo.read("blog/models.py").replace(VIEWS, ""))
    clean = repo.gitmig("status", "--json")
    assert clean.exit_code == 0
    assert json.loads(clean.stdout)["clean"] is True


def test_outside_a_git_repository(project: Project) -> None:
    out = status(project, code=0)
    assert out == f"Database: {db(project)}\n\n{CLEAN}"
    data = json.loads(project.gitmig("status", "--json").stdout)
    assert data["branch"] is None and data["staged_model_changes"] is None


@pytest.mark.slow
def test_colours_on_a_terminal_plain_when_piped(repo: Repo) -> None:
    add_slug(repo)
    code, output = gitmig_on_a_terminal("status", cwd=repo.root)
    assert code == 1, output
    assert "\x1b[" in output
    assert "+ Add column slug to post" in output
    piped = subprocess.run([sys.executable, "-m", "gitmig", "status"], cwd=repo.root,
                           capture_output=True, text=True)
    assert piped.returncode == 1
    assert "\x1b[" not in piped.stdout
    assert "    + Add column slug to post\n" in piped.stdout
