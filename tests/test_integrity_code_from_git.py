"""Unapplying a migration whose file only git has runs that file only when it is the code
this database ran, and never for --plan, --check or --fake (issue 11, case c): a ref
fetched from a fork, newer, holding the same path plus module-level code, never runs."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from .gitrepo import SLUG, Repo, make_repo

MARKER = "fork-code-ran"


def ok(repo: Repo, *args: str) -> str:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result.output


def commit_at(repo: Repo, date: str, message: str) -> None:
    """`git commit` with a committer date, as a fetched commit may carry any date."""
    env = dict(repo.env(), GIT_COMMITTER_DATE=date, GIT_AUTHOR_DATE=date)
    subprocess.run(["git", "-c", "user.name=f", "-c", "user.email=f@f", "commit", "-q",
                    "--no-verify", "-am", message], cwd=repo.root, env=env, check=True)


def fork_ref(repo: Repo, name: str, text: str) -> None:
    """refs/remotes/origin/pr-42: the same migration path, plus code at module level."""
    repo.git("checkout", "-q", "-b", "pr-42", "main")
    path = repo.root / "blog/migrations" / f"{name}.py"
    path.write_text(text + f"\nopen({str(repo.root / MARKER)!r}, 'w').close()\n")
    repo.git("add", str(path))
    commit_at(repo, "2099-01-01T00:00:00+00:00", "a fork's change")
    repo.git("update-ref", "refs/remotes/origin/pr-42", "pr-42")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "pr-42")


def applied(repo: Repo) -> list[str]:
    with sqlite3.connect(repo.root / "db.sqlite3") as conn:
        return [r[0] for r in conn.execute("SELECT name FROM gitmig_migrations ORDER BY name")]


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Repo, str]:
    """Migrated on `feature` (0002 adds post.slug), then back on main, with a fork's ref."""
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    ok(repo, "migrate")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG)
    ok(repo, "makemigrations", "--no-input")
    (name,) = [n[:-3] for n in repo.migrations("blog") if n.startswith("0002")]
    assert repo.commit(message="feature").exit_code == 0
    ok(repo, "migrate")
    text = (repo.root / "blog/migrations" / f"{name}.py").read_text()
    repo.git("checkout", "-q", "main")
    fork_ref(repo, name, text)
    return repo, name


@pytest.mark.parametrize("flag", ["--plan", "--check", "--fake"])
def test_print_or_record_only_never_imports_a_file_from_git(
    repo: tuple[Repo, str], flag: str
) -> None:
    r, name = repo
    result = r.gitmig("migrate", "blog", "0001", flag)
    assert not (r.root / MARKER).exists()
    assert "Traceback" not in result.output
    if flag == "--check":
        assert result.exit_code == 1, result.output
        assert f"blog.{name} to unapply, its file only in git" in result.stderr
    else:
        assert result.exit_code == 2, result.output
        assert f"{flag} runs no code taken from git; nothing was changed" in result.stderr
        assert f"> blog/migrations/{name}.py`" in result.stderr  # the file to restore
    assert applied(r) == ["0001_initial", name]


def test_the_fork_s_newer_version_is_not_what_is_run(repo: tuple[Repo, str]) -> None:
    r, name = repo
    feature = r.git("rev-parse", "--short", "feature").stdout.strip()
    result = r.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 0, result.output
    assert f"the version in git (commit {feature})" in result.stderr
    assert not (r.root / MARKER).exists()
    assert applied(r) == ["0001_initial"]


def test_only_the_fork_s_version_in_git_stops_migrate_naming_the_file(
    repo: tuple[Repo, str],
) -> None:
    """The branch that applied the migration is gone, reflog and all: only the fork's
    version is left, and it is not the code this database ran."""
    r, name = repo
    r.git("branch", "-q", "-D", "feature")
    r.git("reflog", "expire", "--expire=now", "--all")
    r.git("gc", "-q", "--prune=now")
    assert r.git("log", "--all", "--oneline", "--", f"blog/migrations/{name}.py").stdout
    before = r.snapshot()
    result = r.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"gitmig: error: cannot unapply blog.{name}, which is "
                                    "applied to the database: its file in git (commit ")
    assert "is not the version that was applied" in result.stderr
    assert f"restore the file, as it was applied, to blog/migrations/{name}.py" in result.stderr
    assert not (r.root / MARKER).exists()
    assert r.snapshot() == before
    assert applied(r) == ["0001_initial", name]
