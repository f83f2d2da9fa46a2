"""The lock file: `<migrations>/gitmig.lock`, kept by makemigrations and resolve.

It names the latest migration and ends a hash chain over the app's migrations, so that
two branches adding migrations conflict in git itself, and an edit to a committed
migration shows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gitmig.config import load_config
from gitmig.migrations import lockfile
from gitmig.migrations.loader import load_graph, parse_migration

from .conftest import BASE, Project
from .gitrepo import POST, SLUG, Repo, add_slug, make_repo
from .twobranches import ok

LOCK = "blog/migrations/gitmig.lock"


def chain_by_hand(project: Project, names: list[str]) -> str:
    link = ""
    for name in names:
        path = project.root / "blog" / "migrations" / f"{name}.py"
        checksum = parse_migration("blog", name, path.read_bytes(), str(path)).checksum
        link = hashlib.sha256(f"{link}\n{name}\n{checksum}".encode()).hexdigest()
    return link


def test_makemigrations_keeps_the_leaf_and_the_chain(project: Project) -> None:
    project.write("blog/models.py", BASE + POST)
    ok(project, "makemigrations", "--no-input")
    lines = project.read(LOCK).splitlines()
    assert len(lines) == 8  # and the record of the models in sync (tests/test_syncrecord.py)
    assert [line.split(":")[0] for line in lines[3:]] == [
        "# models in sync, key", "# models read", "# models imported", "# models environment",
        "# models probed"]
    assert lines[0].startswith("# gitmig lock file of app 'blog', kept by makemigrations and "
                               "resolve; do not edit.")
    assert "link = sha256(previous link" in lines[0]  # the format, documented in the file
    assert lines[1:3] == ["leaf: 0001_initial",
                         f"chain: {chain_by_hand(project, ['0001_initial'])}"]

    project.write("blog/models.py", BASE + POST + SLUG)
    result = ok(project, "makemigrations", "--no-input")
    assert "gitmig.lock" not in result.output  # kept quietly along with the new file
    assert project.read(LOCK).splitlines()[1:3] == [
        "leaf: 0002_post_add_slug",
        f"chain: {chain_by_hand(project, ['0001_initial', '0002_post_add_slug'])}",
    ]
    graph = load_graph(load_config(project.root / "pyproject.toml"))
    assert sorted(k[1] for k in graph.nodes) == ["0001_initial", "0002_post_add_slug"]


def test_an_older_project_gets_its_lock_from_the_next_makemigrations(project: Project) -> None:
    project.write("blog/models.py", BASE + POST)
    ok(project, "makemigrations", "--no-input")
    (project.root / LOCK).unlink()
    ok(project, "makemigrations", "--check")
    assert not (project.root / LOCK).exists()  # a check writes nothing
    result = ok(project, "makemigrations")
    assert result.stdout == "No changes detected.\nCreated blog/migrations/gitmig.lock\n"
    assert project.read(LOCK).splitlines()[1] == "leaf: 0001_initial"


def test_lockfile_false_keeps_none(project: Project) -> None:
    project.write("pyproject.toml", project.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', 'database = "sqlite:///db.sqlite3"\nlockfile = false'))
    project.write("blog/models.py", BASE + POST)
    ok(project, "makemigrations", "--no-input")
    assert not (project.root / LOCK).exists()


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    ok(repo, "hooks", "install")
    return repo


def edit_initial(repo: Repo) -> str:
    path = "blog/migrations/0001_initial.py"
    repo.write(path, repo.read(path).replace("sa.String(length=200)", "sa.String(length=300)"))
    return path


def test_an_edited_committed_migration_is_caught(repo: Repo) -> None:
    path = edit_initial(repo)
    result = repo.gitmig("conflicts")
    assert result.exit_code == 1
    assert result.stdout == (
        f"app 'blog': {LOCK} does not match the migrations: 0001_initial changed since it was "
        "committed (its operations differ); if that is intended, `gitmig resolve blog` records "
        "the migrations as they are; otherwise undo the change and put it in a new migration\n")

    run = repo.commit(path)
    assert run.exit_code == 1
    assert run.stderr.splitlines()[0] == (
        "gitmig: app 'blog': 0001_initial was edited after being committed (the operations "
        "changed): a database that applied the committed version never runs the change. Undo "
        f"the edit (git checkout HEAD -- {path}) and put the change in a new migration; if no "
        "database has applied it yet, `gitmig resolve blog` records the edit in the lock file: "
        "stage that and commit with --no-verify")

    # Where no hook runs (an edit on a hosting site), the lock file tells.
    repo.git("commit", "-q", "--no-verify", "-m", "edit")
    head = repo.git("rev-parse", "--short=7", "HEAD~1").stdout.strip()
    result = repo.gitmig("conflicts")
    assert result.exit_code == 1
    assert (f"0001_initial changed after the lock recorded it (its operations differ) (the lock "
            f"last matched the migrations at commit {head})") in result.stdout

    fixed = ok(repo, "resolve")
    assert fixed.stdout.splitlines()[0] == f"Updated {LOCK}"
    ok(repo, "conflicts")


@pytest.mark.slow
def test_a_draft_edited_by_hand_needs_the_lock_updated_before_commit(repo: Repo) -> None:
    ok(repo, "makemigrations", "--empty", "blog", "--name", "backfill")
    path = "blog/migrations/0002_backfill.py"
    repo.write(path, repo.read(path).replace(
        "operations: list[ops.Operation] = []",
        'operations = [ops.RunSQL("UPDATE post SET title = upper(title)")]'))
    run = repo.commit()
    assert run.exit_code == 1
    assert run.stderr.splitlines()[0] == (
        f"gitmig: app 'blog': the staged {LOCK} does not match the staged migrations: it does "
        "not record 0002_backfill as it is now; run `gitmig makemigrations blog` to update it, "
        f"then git add {LOCK}")
    made = ok(repo, "makemigrations", "blog")
    assert made.stdout.splitlines() == [
        "No changes detected in blog.",
        f"Updated {LOCK} (it does not record 0002_backfill as it is now)"]
    assert repo.commit().exit_code == 0


def test_a_migration_staged_without_its_lock_is_named(repo: Repo) -> None:
    add_slug(repo)
    ok(repo, "makemigrations", "--no-input")
    run = repo.commit("blog/models.py", "blog/migrations/0002_post_add_slug.py")
    assert run.exit_code == 1
    assert run.stderr.splitlines()[0] == (
        f"gitmig: app 'blog': {LOCK} is up to date in the working tree but not staged: "
        f"git add {LOCK}")


def test_the_format_reads_back_and_tells_conflict_markers() -> None:
    lock = lockfile.Lock("0002_x", "ab" * 32)
    text = lockfile.render("blog", lock)
    assert lockfile.parse(text.encode()) == lock
    marked = text.replace("leaf:", "<<<<<<< HEAD\nleaf:").encode()
    assert lockfile.parse(marked) is None
    assert lockfile.verify([], ["0002_x"], marked).state == lockfile.CONFLICTED
    assert lockfile.verify([], ["0002_x"], None).state == lockfile.MISSING
    assert lockfile.chain([("b", "2"), ("a", "1")]) == lockfile.chain([("a", "1"), ("b", "2")])
