"""The pre-commit hook with a model change staged, right after `gitmig makemigrations`:
it answers from what that run left in the state cache (gitmig.hooks.fromcache: the
models' state and the replayed state; gitmig.actions.lintcache: the lint of the new
migration) without the child process and without importing SQLAlchemy, and says exactly
what a run without any cache says. A project module the models import, changed, a file
staged that would shadow one the import read, and a damaged cache, all fall back to the
full check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitmig.config import load_config
from gitmig.migrations import statecache
from gitmig.migrations.loader import load_graph
from gitmig.migrations.replay import Replayer

from .gitrepo import SLUG, Repo, add_slug, make_repo

FIELDS = '''
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from blog.sizes import TITLE_LENGTH


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(TITLE_LENGTH))
'''


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    assert repo.gitmig("hooks", "install").exit_code == 0
    return repo


def hook(repo: Repo, **env: str) -> tuple[int, str, bool]:
    """The pre-commit check as the hook script runs it: (exit code, what it printed,
    whether it imported SQLAlchemy)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-P", "-m", "gitmig", "hooks", "run",
         "pre-commit"],
        cwd=repo.root, env={**repo.env(), **env}, capture_output=True, text=True)
    said = [line for line in proc.stderr.splitlines() if not line.startswith("import time:")]
    imported = any(line.startswith("import time:") and line.split("|")[-1].strip() == "sqlalchemy"
                   for line in proc.stderr.splitlines())
    return proc.returncode, "\n".join(said), imported


def exported(repo: Repo) -> bool:
    """Whether the check exported the index for the child process."""
    trees = repo.root / ".git" / "gitmig" / "trees"
    return trees.is_dir() and any(trees.iterdir())


def damage(cache: Path) -> None:
    for path in cache.iterdir():
        if path.is_file():
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def cold(repo: Repo) -> tuple[int, str]:
    code, said, _ = hook(repo, GITMIG_NO_CACHE="1")
    return code, said


@pytest.mark.slow
def test_after_makemigrations_the_hook_needs_neither_the_models_nor_sqlalchemy(
    repo: Repo, tmp_path: Path
) -> None:
    add_slug(repo)
    made = repo.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    repo.git("add", "-A")
    code, said, imported = hook(repo)
    assert (code, said) == (0, "")
    assert not imported and not exported(repo)
    assert cold(repo) == (0, "")
    damage(tmp_path / "cache")
    assert hook(repo)[:2] == (0, "")
    assert repo.commit(message="slug").exit_code == 0


@pytest.mark.slow
def test_a_lint_finding_of_the_new_migration_reads_the_same_from_makemigrations_entry(
    repo: Repo, tmp_path: Path
) -> None:
    """The lint entry makemigrations leaves says what the hook's own lint says."""
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "sa.String(200)", "sa.String(100)"))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.git("add", "-A")
    code, said, imported = hook(repo)
    assert code == 0
    assert "error narrow-type" in said and "post.title" in said
    assert not imported and not exported(repo)
    assert cold(repo) == (code, said)
    damage(tmp_path / "cache")
    assert hook(repo)[:2] == (code, said)


@pytest.mark.slow
def test_a_lint_rule_that_reads_the_running_models_is_judged_by_the_hook_itself(
    repo: Repo, tmp_path: Path
) -> None:
    """makemigrations leaves no lint entry when a rule needs the merge base's models (a
    child process); the hook lints, then keeps what it said for the next try."""
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    title: Mapped[str] = mapped_column(sa.String(200))\n", ""))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.git("add", "-A")
    code, said, imported = hook(repo)
    assert code == 0
    assert "error drop-column: drops column post.title" in said
    assert "column-still-mapped" in said
    assert imported
    again = hook(repo)
    assert again == (code, said, False)
    assert cold(repo) == (code, said)
    damage(tmp_path / "cache")
    assert hook(repo)[:2] == (code, said)


@pytest.mark.slow
def test_a_model_change_without_its_migration_is_refused_from_the_cache_as_without(
    repo: Repo,
) -> None:
    add_slug(repo)
    assert repo.gitmig("makemigrations", "--check").exit_code == 1  # fills the cache
    repo.git("add", "blog/models.py")
    code, said, _ = hook(repo)
    assert code == 1
    assert "+ Add column slug to post" in said
    assert not exported(repo)
    assert cold(repo) == (code, said)


@pytest.mark.slow
def test_a_changed_project_module_the_models_import_is_not_answered_from_the_cache(
    repo: Repo,
) -> None:
    """The models read blog/sizes.py: staging a change there alone is a model change."""
    repo.write("blog/sizes.py", "TITLE_LENGTH = 200\n")
    repo.write("blog/models.py", FIELDS)
    assert repo.gitmig("makemigrations", "--check").exit_code == 0
    assert repo.commit(message="sizes").exit_code == 0
    repo.write("blog/sizes.py", "TITLE_LENGTH = 300\n")
    repo.git("add", "blog/sizes.py")
    code, said, _ = hook(repo)
    assert code == 1
    assert "post.title" in said and "300" in said
    assert (code, said) == cold(repo)


@pytest.mark.slow
def test_a_staged_package_that_shadows_the_models_module_is_imported(repo: Repo) -> None:
    """The index holds blog/models/__init__.py, which the working tree does not: Python
    imports the package, not the models.py the cache entry read."""
    add_slug(repo)
    package = repo.read("blog/models.py")
    repo.git("checkout", "blog/models.py")
    assert repo.gitmig("makemigrations", "--check").exit_code == 0
    repo.write("blog/models/__init__.py", package)
    repo.git("add", "blog/models/__init__.py")
    (repo.root / "blog" / "models" / "__init__.py").unlink()
    (repo.root / "blog" / "models").rmdir()
    code, said, _ = hook(repo)
    assert code == 1
    assert "+ Add column slug to post" in said
    assert (code, said) == cold(repo)


def test_makemigrations_leaves_the_replayed_state_a_replay_finds(
    repo: Repo, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_slug(repo)
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        SLUG, SLUG.replace("sa.String(50))", "sa.String(50), index=True)")))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    config = load_config(repo.root / "pyproject.toml")
    kept = statecache.replayed_state(load_graph(config))
    assert kept is not None
    monkeypatch.setenv("GITMIG_NO_CACHE", "1")
    assert kept == Replayer(load_graph(config)).state()


def run_check(repo: Repo, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-P", "-m", "gitmig", *args], cwd=repo.root,
                          env=repo.env(), capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_hook_without_click_says_what_the_cli_says(repo: Repo) -> None:
    """`gitmig hooks run pre-commit` is answered before click (gitmig.entry); the same
    command through click (here with --no-input, which only the CLI takes) says the same."""
    add_slug(repo)
    repo.git("add", "blog/models.py")
    fast = run_check(repo, "hooks", "run", "pre-commit")
    assert fast[0] == 1 and "+ Add column slug to post" in fast[1]
    assert fast == run_check(repo, "hooks", "run", "pre-commit", "--no-input")
    repo.write("pyproject.toml", repo.read("pyproject.toml") + "[tool.gitmig.oops\n")
    broken = run_check(repo, "hooks", "run", "pre-commit")
    assert broken[0] == 2 and broken[1].startswith("gitmig: error: ")
    assert broken == run_check(repo, "hooks", "run", "pre-commit", "--no-input")
