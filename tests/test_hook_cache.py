"""The pre-commit hook's shortcuts never change its verdict: the staged migrations parsed
through the content-keyed cache, the child's answer read from the cache without importing
the models, and lint's state before the staged migrations read from the cache. A run that
hits them says exactly what a run without any cache says, and a damaged cache is ignored."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gitmig.migrations.loader import parse_migration, read_blobs, read_folder

from .gitrepo import Repo, add_slug, make_repo

TITLE = "    title: Mapped[str] = mapped_column(sa.String(200))\n"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    assert repo.gitmig("hooks", "install").exit_code == 0
    return repo


def hook(repo: Repo, **env: str) -> tuple[int, str]:
    """The pre-commit check, run as the hook script runs it."""
    proc = subprocess.run([sys.executable, "-P", "-m", "gitmig", "hooks", "run", "pre-commit"],
                          cwd=repo.root, env={**repo.env(), **env}, capture_output=True,
                          text=True)
    return proc.returncode, proc.stderr


def damage(cache: Path) -> None:
    """Every cache entry cut in half: a truncated pickle."""
    for path in cache.iterdir():
        if path.is_file():
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def verdicts(repo: Repo, cache: Path) -> list[tuple[int, str]]:
    """Cold, warm, without a cache, and with a damaged one."""
    found = [hook(repo), hook(repo), hook(repo, GITMIG_NO_CACHE="1")]
    damage(cache)
    found.append(hook(repo))
    return found


@pytest.mark.slow
def test_a_staged_migration_with_a_lint_finding_reads_the_same_from_the_cache(
    repo: Repo, tmp_path: Path
) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").replace(TITLE, ""))
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.git("add", "-A")
    found = verdicts(repo, tmp_path / "cache")
    code, stderr = found[0]
    assert code == 0, stderr
    assert "error drop-column: drops column post.title" in stderr
    assert found == [found[0]] * 4


@pytest.mark.slow
def test_a_refused_commit_reads_the_same_from_the_cache(repo: Repo, tmp_path: Path) -> None:
    add_slug(repo)
    repo.git("add", "blog/models.py")
    found = verdicts(repo, tmp_path / "cache")
    code, stderr = found[0]
    assert code == 1
    assert "+ Add column slug to post" in stderr
    assert found == [found[0]] * 4


@pytest.mark.slow
def test_the_child_answers_from_the_cache_without_importing_the_models(
    repo: Repo, tmp_path: Path
) -> None:
    add_slug(repo)
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.git("add", "-A")
    for entry in (tmp_path / "cache").glob("models-*"):
        entry.unlink()  # else the hook answers from it, without the child (test_hook_fromcache)
    assert hook(repo)[0] == 0
    (exported,) = (repo.root / ".git" / "gitmig" / "trees").iterdir()
    probe = ("import argparse, json, sys\n"
             "from gitmig.git import worker\n"
             "args = argparse.Namespace(pyproject=sys.argv[1], replay=True,\n"
             "                          missing_is_empty=False, section=None)\n"
             "result = worker.run(args)\n"
             "print(json.dumps(result, sort_keys=True))\n"
             "print('sqlalchemy' in sys.modules)\n")
    warm = repo.run_python("-c", probe, str(exported / "pyproject.toml"), cwd=exported)
    assert warm.exit_code == 0, warm.stderr
    answer, imported = warm.stdout.splitlines()
    assert imported == "False"
    damage(tmp_path / "cache")
    cold = repo.run_python("-c", probe, str(exported / "pyproject.toml"), cwd=exported)
    assert cold.stdout.splitlines() == [answer, "True"]


SOURCE = b'''"""Add a column."""
import sqlalchemy as sa

from gitmig import ops

parents = ["0001_initial"]
operations = [ops.AddColumn("post", sa.Column("slug", sa.String(20), nullable=True))]
'''


def test_a_blob_parses_the_same_from_the_cache_as_without(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "0002_post_add_slug.py").write_bytes(SOURCE)
    want = replace(parse_migration("blog", "0002_post_add_slug", SOURCE, ":blog/x.py"),
                   digest="")
    blobs = [("0002_post_add_slug", SOURCE, ":blog/x.py")]
    shared = f"blog\0{folder}"
    assert read_blobs("blog", "index-scope", blobs, shared) == [want]  # a miss
    assert read_blobs("blog", "index-scope", blobs, shared) == [want]  # its own entry
    read_folder("blog", folder)  # the working tree's entry, under its path
    assert read_blobs("blog", "other-scope", blobs, shared) == [want]
    assert read_blobs("shop", "other-scope", blobs, shared)[0].app == "shop"  # never shared
    damage(tmp_path / "cache")
    assert read_blobs("blog", "index-scope", blobs, shared) == [want]
