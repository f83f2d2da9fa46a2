"""Code from other branches, revisions and the index is never run in the gitmig process.

gitmig reads other branches' migrations with Python's ast; only models (and, for checks
that replay them, migrations) of a snapshot other than the working tree are imported,
and only in gitmig's child process (gitmig.git.worker). Here the other branch's
migration and models, and a staged migration, each write a sentinel file when imported,
recording the command line of the process that imported them:

- `gitmig conflicts` and `gitmig diff OTHER` never import the other branch's migration
  (no sentinel at all);
- the models of another revision, and the staged migrations the pre-commit check
  replays, are imported by the child only (every sentinel comes from the worker).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .gitrepo import Repo, add_slug, make_repo

SENTINEL = '''
import json as _json
import os as _os
import sys as _sys

with open(_os.path.join({folder!r}, "{what}-" + str(_os.getpid())), "w") as _f:
    _f.write(_json.dumps(_sys.argv))
'''


def sentinel(folder: Path, what: str) -> str:
    return SENTINEL.format(folder=str(folder), what=what)


def sentinels(folder: Path) -> dict[str, list[str]]:
    """Each sentinel written: file name -> the command line of the process that ran it."""
    return {p.name: json.loads(p.read_text()) for p in sorted(folder.iterdir())}


def by_worker_only(found: dict[str, list[str]]) -> bool:
    worker = str(Path("gitmig", "git", "worker.py"))
    return all(argv and argv[0].endswith(worker) for argv in found.values())


@pytest.fixture
def branches(tmp_path: Path) -> tuple[Repo, Path]:
    """main and other each add a migration to blog; other's migration and models write a
    sentinel when imported. main is checked out."""
    folder = tmp_path / "sentinels"
    folder.mkdir()
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    repo.git("checkout", "-q", "-b", "other")
    add_slug(repo)
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    [new] = [p for p in repo.migrations("blog") if not p.startswith("0001")]
    path = f"blog/migrations/{new}"
    repo.write(path, repo.read(path) + sentinel(folder, "migration"))
    repo.write("blog/models.py", repo.read("blog/models.py") + sentinel(folder, "models"))
    assert repo.commit(message="other: slug").exit_code == 0
    repo.git("checkout", "-q", "main")
    repo.write("blog/models.py", repo.read("blog/models.py") + "    body: Mapped[str | None]\n")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert repo.commit(message="main: body").exit_code == 0
    assert sentinels(folder) == {}
    return repo, folder


@pytest.mark.slow
def test_diff_against_another_branch_never_imports_its_migrations(
    branches: tuple[Repo, Path],
) -> None:
    repo, folder = branches
    for args in (("diff", "other"), ("diff", "main", "other"), ("diff", "other", "--json")):
        result = repo.gitmig(*args)
        assert result.exit_code == 0, result.output
        assert "slug" in result.stdout
    found = sentinels(folder)
    assert not [name for name in found if name.startswith("migration-")]
    assert [name for name in found if name.startswith("models-")]  # the child read them
    assert by_worker_only(found), found


def test_conflicts_never_imports_another_branchs_migrations(
    branches: tuple[Repo, Path],
) -> None:
    from gitmig.cli import COMMANDS

    if "conflicts" not in COMMANDS:
        pytest.skip("`gitmig conflicts` is not registered yet")
    repo, folder = branches
    for args in (("conflicts", "--against", "other"), ("conflicts", "--all-branches"),
                 ("conflicts", "--against", "other", "--json")):
        result = repo.gitmig(*args)
        assert result.exit_code == 1, result.output  # both add migrations to blog
        assert "0002_post_add_slug" in result.stdout
    assert repo.gitmig("conflicts").exit_code == 0  # and nothing conflicts here and now
    assert sentinels(folder) == {}


def _lock_as_the_files_are(repo: Repo, leaf: str) -> None:
    """The lock file written for the migrations as they are on disk, parsed, never run."""
    from gitmig.migrations import lockfile
    from gitmig.migrations.loader import read_folder

    lock = lockfile.expected(read_folder("blog", repo.root / "blog/migrations"), [leaf])
    assert lock is not None
    (repo.root / "blog/migrations/gitmig.lock").write_text(lockfile.render("blog", lock))


@pytest.mark.slow
def test_the_pre_commit_check_runs_staged_code_only_in_its_child(
    branches: tuple[Repo, Path],
) -> None:
    """A staged migration (with its model change) that writes a sentinel when imported."""
    repo, folder = branches
    assert repo.gitmig("hooks", "install").exit_code == 0
    repo.write("blog/models.py", repo.read("blog/models.py") + "    views: Mapped[int | None]\n")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    [new] = [p for p in repo.migrations("blog") if p.startswith("0003")]
    path = f"blog/migrations/{new}"
    clean = repo.read(path)
    repo.write(path, clean + sentinel(folder, "staged"))
    _lock_as_the_files_are(repo, new[:-3])  # the sentinel is code: the checksum covers it
    repo.git("add", "-A")
    repo.write(path, clean)  # the sentinel is in the index only

    index = (repo.root / ".git" / "index").read_bytes()
    result = repo.gitmig("hooks", "run", "pre-commit")  # in this very process
    assert result.exit_code == 0, result.output
    assert (repo.root / ".git" / "index").read_bytes() == index
    found = sentinels(folder)
    assert [name for name in found if name.startswith("staged-")], "the check replayed nothing"
    assert by_worker_only(found), found

    run = repo.git("commit", "-q", "-m", "views", check=False)  # the hook, as git runs it
    assert run.exit_code == 0, run.output
    assert by_worker_only(sentinels(folder)), sentinels(folder)
    assert not [name for name in sentinels(folder) if name.startswith("migration-")]


@pytest.mark.slow
def test_graph_and_erd_never_import_another_branchs_code_here(
    branches: tuple[Repo, Path],
) -> None:
    """graph reads other branches' migrations with ast alone; erd imports another
    revision's models in the child only."""
    repo, folder = branches
    for args in (("graph", "--against", "other"), ("graph", "--all-branches", "--json"),
                 ("graph", "--against", "other", "--format", "dot")):
        result = repo.gitmig(*args)
        assert result.exit_code == 0, result.output
        assert "0002_post_add_slug" in result.stdout
    assert sentinels(folder) == {}
    result = repo.gitmig("erd", "other")
    assert result.exit_code == 0, result.output
    assert "slug" in result.stdout
    found = sentinels(folder)
    assert not [name for name in found if name.startswith("migration-")]
    assert [name for name in found if name.startswith("models-")]
    assert by_worker_only(found), found
