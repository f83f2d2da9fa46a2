"""`gitmig diff`: the schema change between two revisions' models, as operations."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import assert_refused
from .gitrepo import POST, SLUG, Repo, add_slug, gitmig_on_a_terminal


def commit_all(repo: Repo, message: str = "change") -> None:
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", message)


def diff(repo: Repo, *args: str) -> str:
    result = repo.gitmig("diff", *args)
    assert result.exit_code == 0, result.output
    # Another revision's models run, and gitmig says so (one line per revision).
    others = [line for line in result.stderr.splitlines()
              if not line.startswith("gitmig: importing the models of ")]
    assert others == [], result.stderr
    return result.stdout


def refused(repo: Repo, *args: str, cwd: Path | None = None) -> str:
    return assert_refused(repo.gitmig("diff", *args, cwd=cwd))


def test_no_changes_between_head_and_the_working_tree(repo: Repo) -> None:
    assert diff(repo) == "No schema changes between HEAD and the working tree.\n"


def test_head_against_the_working_tree_as_operations(repo: Repo) -> None:
    add_slug(repo)
    assert diff(repo) == (
        "Schema changes between HEAD and the working tree:\n"
        "\n"
        "blog\n"
        "  + Add column slug to post\n"
        '      ops.AddColumn("post", sa.Column("slug", sa.String(length=50), nullable=True))\n'
    )


def test_the_operations_are_what_makemigrations_writes(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    title: Mapped[str] = mapped_column(sa.String(200))\n",
        "    title: Mapped[str] = mapped_column(sa.String(300))\n"
        "    views: Mapped[int] = mapped_column(default=0)\n",
    ) + "\n\nclass Tag(Base):\n    __tablename__ = 'tag'\n"
        "    id: Mapped[int] = mapped_column(primary_key=True)\n")
    shown = json.loads(diff(repo, "--json"))["changes"]["blog"]
    made = repo.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    written = repo.read("blog/migrations/" + repo.migrations("blog")[-1])
    flat = " ".join(written.split()).replace("( ", "(").replace(", )", ")").replace(",)", ")")
    assert [op["operation"] for op in shown] == ["CreateTable", "AddColumn", "AlterColumn"]
    for op in shown:
        assert op["source"] in flat, op["source"]


@pytest.mark.slow
def test_staged_compares_head_with_the_index_only(repo: Repo) -> None:
    add_slug(repo)
    repo.git("add", "blog/models.py")
    repo.write("blog/models.py", repo.read("blog/models.py").replace(SLUG, ""))
    assert "+ Add column slug to post" in diff(repo, "--staged")
    assert diff(repo) == "No schema changes between HEAD and the working tree.\n"
    assert "between HEAD and the index" in diff(repo, "--cached")


@pytest.mark.slow
def test_one_revision_against_the_working_tree_and_two_revisions(repo: Repo) -> None:
    add_slug(repo)
    commit_all(repo, "slug")
    repo.git("tag", "v1")
    repo.write("blog/models.py", repo.read("blog/models.py").replace(SLUG, ""))
    commit_all(repo, "no slug")
    first = repo.git("rev-list", "--max-parents=0", "HEAD").stdout.strip()

    assert "- Drop column slug from post" in diff(repo, "HEAD~1")
    assert "- Drop column slug from post" in diff(repo, "v1", "main")
    assert "+ Add column slug to post" in diff(repo, first[:8], "v1")
    assert diff(repo, "HEAD~2", "HEAD") == "No schema changes between HEAD~2 and HEAD.\n"
    staged = diff(repo, "--staged", "v1")
    assert staged.startswith("Schema changes between v1 and the index:")
    assert "- Drop column slug from post" in staged


def test_json_names_both_sides_and_every_operation(repo: Repo) -> None:
    add_slug(repo)
    head = repo.git("rev-parse", "HEAD").stdout.strip()
    data = json.loads(diff(repo, "--json"))
    assert data["from"] == {"label": "HEAD", "kind": "revision", "commit": head}
    assert data["to"] == {"label": "the working tree", "kind": "worktree", "commit": None}
    assert data["changes"] == {"blog": [{
        "operation": "AddColumn",
        "description": "Add column slug to post",
        "source": 'ops.AddColumn("post", sa.Column("slug", sa.String(length=50), '
                  'nullable=True))',
        "destructive": False,
    }]}
    repo.write("blog/models.py", repo.read("blog/models.py").replace(SLUG, ""))
    assert json.loads(diff(repo, "--json"))["changes"] == {}


def test_renames_are_never_guessed_and_nothing_is_asked(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").replace("title", "headline")
               + "    rank: Mapped[int]\n")
    out = diff(repo)
    assert "+ Add column headline to post" in out
    assert "- Drop column title from post" in out
    assert "+ Add column rank to post" in out  # NOT NULL without a default: shown, not refused


def test_an_app_added_after_the_revision_has_no_tables_there(repo: Repo) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml") + 'shop = "shop.models"\n')
    repo.write("shop/__init__.py", "")
    repo.write("shop/models.py", "from blog.models import Base, Mapped, mapped_column\n\n"
               "class Item(Base):\n    __tablename__ = 'item'\n"
               "    id: Mapped[int] = mapped_column(primary_key=True)\n")
    out = diff(repo)
    assert "shop\n  + Create table item" in out
    assert "blog" not in out


def test_a_revision_from_before_gitmig_was_configured_is_read_with_todays_settings(
    tmp_path: Path,
) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.git("init", "-q", "-b", "main")
    repo.write("pyproject.toml", '[project]\nname = "proj"\n')
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", _models(POST))
    commit_all(repo, "models, no gitmig yet")
    repo.write("pyproject.toml", repo.read("pyproject.toml")
               + '\n[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/models.py", _models(POST) + SLUG)
    assert "+ Add column slug to post" in diff(repo)


def _models(body: str) -> str:
    from .conftest import BASE

    return BASE.lstrip("\n") + body


@pytest.mark.slow
def test_colours_on_a_terminal_plain_when_piped(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    title: Mapped[str] = mapped_column(sa.String(200))\n", "") + SLUG)
    code, output = gitmig_on_a_terminal("diff", cwd=repo.root)
    assert code == 0, output
    assert "\x1b[" in output
    assert "Drop column title from post" in output
    piped = subprocess.run([sys.executable, "-m", "gitmig", "diff"], cwd=repo.root,
                           capture_output=True, text=True)
    assert piped.returncode == 0, piped.stderr
    assert "\x1b[" not in piped.stdout
    assert "  - Drop column title from post\n" in piped.stdout


# -- bad input: one line, exit 2, naming what is wrong ------------------------------------------


def test_an_unknown_revision(repo: Repo) -> None:
    line = refused(repo, "no-such-branch")
    assert "unknown revision 'no-such-branch'" in line
    assert "unknown revision 'HEAD~7'" in refused(repo, "HEAD~7")
    assert "unknown revision 'main..'" in refused(repo, "HEAD", "main..")


def test_an_unborn_branch(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/models.py", _models(POST))
    repo.git("init", "-q", "-b", "trunk")
    line = refused(repo)
    assert "revision 'HEAD'" in line and "'trunk' has no commits yet" in line


def test_outside_a_git_repository(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig.apps]\nblog = "blog.models"\n')
    line = refused(repo)
    assert "is not inside a git repository" in line


def test_a_bare_repository(repo: Repo, tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    repo.git("clone", "-q", "--bare", str(repo.root), str(bare))
    (bare / "pyproject.toml").write_text('[tool.gitmig.apps]\nblog = "blog.models"\n')
    line = refused(repo, cwd=bare)
    assert "is a bare repository" in line


def test_models_that_fail_to_import_at_a_revision(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py") + "\nundefined_name + 1\n")
    commit_all(repo, "broken")
    repo.write("blog/models.py", repo.read("blog/models.py").replace("\nundefined_name + 1\n", ""))
    line = refused(repo, "HEAD")
    assert line.startswith("gitmig: error: cannot import the models of HEAD (")
    assert "HEAD:blog/models.py:" in line
    assert "NameError: name 'undefined_name' is not defined" in line
    assert ".git/gitmig" not in line  # paths as the revision has them, not the cache's


def test_usage_errors(repo: Repo) -> None:
    assert "at most two revisions" in refused(repo, "HEAD", "HEAD", "HEAD")
    assert "--staged compares one revision" in refused(repo, "--staged", "HEAD", "HEAD")


@pytest.mark.slow
def test_a_src_layout_is_read_from_each_revision(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.git("init", "-q", "-b", "main")
    repo.write("pyproject.toml", '[tool.gitmig]\npythonpath = ["src"]\n'
               '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("src/blog/__init__.py", "")
    repo.write("src/blog/models.py", _models(POST))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert repo.migrations("blog") == []  # they live next to the models, under src/
    assert (repo.root / "src/blog/migrations/0001_initial.py").is_file()
    commit_all(repo, "initial")
    repo.write("src/blog/models.py", _models(POST) + SLUG)
    commit_all(repo, "slug")
    assert "+ Add column slug to post" in diff(repo, "HEAD~1", "HEAD")
    assert diff(repo, "HEAD") == "No schema changes between HEAD and the working tree.\n"
