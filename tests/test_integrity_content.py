"""A file taken from git is run only when it is byte for byte the one this database applied
(issue 11): the history keeps each file's SHA-256 (column file_sha256), an older table gets
the column from the next migrate (which says so), and a fork's version of the same path
that differs by one byte (a comment, so the same checksum) is never run, on SQLite,
PostgreSQL and MariaDB."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from .gitrepo import SLUG, Repo, make_repo
from .test_integrity_code_from_git import commit_at

DATABASES = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.slow),
    pytest.param("mysql", marks=pytest.mark.slow),
]


def ok(repo: Repo, *args: str) -> str:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


@pytest.fixture(params=DATABASES)
def url(request: pytest.FixtureRequest) -> str:
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}
    return str(request.getfixturevalue(fixture[request.param]))


def rows(url: str) -> dict[str, str | None]:
    """name -> file_sha256 (absent when the table has no such column: None)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("gitmig_migrations")}
            sha = "file_sha256" if "file_sha256" in columns else "NULL"
            found = conn.execute(sa.text(f"SELECT name, {sha} FROM gitmig_migrations"))
            return {str(r[0]): r[1] for r in found}
    finally:
        engine.dispose()


def drop_content_column(url: str) -> None:
    """The history table as a gitmig from before file_sha256 made it."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE gitmig_migrations DROP COLUMN file_sha256"))
    finally:
        engine.dispose()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exported(repo: Repo) -> list[str]:
    """The files gitmig wrote out of git to run them."""
    blobs = repo.root / ".git/gitmig/blobs"
    return sorted(p.parent.name for p in blobs.glob("*/*.py")) if blobs.exists() else []


def blob_of(repo: Repo, rev: str, path: str) -> str:
    return repo.git("rev-parse", f"{rev}:{path}").stdout.strip()


def on_feature(tmp_path: Path, url: str) -> tuple[Repo, str]:
    """Migrated on `feature` (0002 adds post.slug, committed), still on `feature`."""
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', f'database = "{url}"'))
    assert repo.commit(message="database").exit_code == 0
    ok(repo, "migrate")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("blog/models.py", repo.read("blog/models.py") + SLUG)
    ok(repo, "makemigrations", "--no-input")
    (name,) = [n[:-3] for n in repo.migrations("blog") if n.startswith("0002")]
    assert repo.commit(message="feature").exit_code == 0
    ok(repo, "migrate")
    return repo, name


def one_byte_fork(repo: Repo, name: str) -> str:
    """refs/remotes/origin/pr-42, newer than anything: the same migration path with one byte
    more (a `#` at its end: the same code, the same checksum). Its blob id."""
    path = f"blog/migrations/{name}.py"
    text = repo.git("show", f"feature:{path}").stdout
    repo.git("checkout", "-q", "-b", "pr-42", "main")
    repo.write(path, text + "#")
    repo.git("add", path)
    commit_at(repo, "2099-01-01T00:00:00+00:00", "a fork's one-byte change")
    repo.git("update-ref", "refs/remotes/origin/pr-42", "pr-42")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "pr-42")
    return blob_of(repo, "refs/remotes/origin/pr-42", path)


def forget_feature(repo: Repo) -> None:
    """The branch that applied the migration is gone, reflog and all."""
    repo.git("branch", "-q", "-D", "feature")
    repo.git("reflog", "expire", "--expire=now", "--all")
    repo.git("gc", "-q", "--prune=now")


def follow(repo: Repo, command: str) -> None:
    """Run a `git show REV:PATH > PATH` a hint gave, as the user would in a shell."""
    subprocess.run(command, shell=True, cwd=repo.root, env=repo.env(), check=True)


def test_a_fork_s_one_byte_change_is_never_run(tmp_path: Path, url: str) -> None:
    repo, name = on_feature(tmp_path, url)
    path = f"blog/migrations/{name}.py"
    applied_blob = blob_of(repo, "feature", path)
    repo.git("checkout", "-q", "main")
    fork_blob = one_byte_fork(repo, name)
    assert fork_blob != applied_blob

    # The feature branch still has the very file applied: that one is run, not the fork's.
    feature = repo.git("rev-parse", "--short", "feature").stdout.strip()
    done = repo.gitmig("migrate", "blog", "0001", "--plan")
    assert done.exit_code == 2 and "--plan runs no code taken from git" in done.stderr
    assert exported(repo) == []
    out = ok(repo, "migrate", "blog", "0001")
    assert f"unapplying the version in git (commit {feature})" in out
    assert exported(repo) == [applied_blob]
    assert list(rows(url)) == ["0001_initial"]

    # Applied again, then the branch is forgotten: only the fork's version is left.
    repo.git("checkout", "-q", "feature")
    ok(repo, "migrate")
    repo.git("checkout", "-q", "main")
    forget_feature(repo)
    before = repo.snapshot()
    for flag in ("--plan", "--check", "--fake", ""):
        result = repo.gitmig("migrate", "blog", "0001", *([flag] if flag else []))
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        (line, *rest) = result.stderr.splitlines()
        assert not rest, result.stderr
        assert line.startswith(f"gitmig: error: cannot unapply blog.{name}, which is applied "
                               "to the database: its file in git (commit "), line
        assert "is not byte for byte the file this database applied" in line
        assert f"restore the file, byte for byte as it was applied, to {path}" in line
        assert exported(repo) == [applied_blob]  # the fork's blob was never written out
        assert repo.snapshot() == before
        assert list(rows(url)) == ["0001_initial", name]

    # Restoring the file as the message says (the user vouches for it) lets migrate go back.
    fork = repo.git("rev-parse", "--short", "refs/remotes/origin/pr-42").stdout.strip()
    assert "is not byte for byte the file this database applied (the same code" in line
    command = f"git show {fork}:{path} > {path}"
    assert f"if you are sure commit {fork}'s version is it, `{command}`" in line
    follow(repo, command)
    out = ok(repo, "migrate", "blog", "0001")
    assert f"Unapplying blog.{name}... OK" in out
    assert list(rows(url)) == ["0001_initial"]


def test_an_older_table_gets_the_column_and_says_so(tmp_path: Path, url: str) -> None:
    repo, name = on_feature(tmp_path, url)
    folder = repo.root / "blog/migrations"
    shas = {n: sha256(folder / f"{n}.py") for n in ("0001_initial", name)}
    assert rows(url) == shas  # what migrate records as it applies
    drop_content_column(url)

    check = repo.gitmig("migrate", "--check")
    assert check.exit_code == 0, check.output
    assert "file_sha256" not in check.output
    assert rows(url) == {"0001_initial": None, name: None}  # --check writes nothing

    out = ok(repo, "migrate")
    assert ("added the column file_sha256 to gitmig_migrations: the SHA-256 of each applied "
            "migration's file") in out
    assert ("recorded the SHA-256 of the files of 2 applied migrations in gitmig_migrations, "
            "from the working tree, where they are unchanged") in out
    assert rows(url) == shas
    again = ok(repo, "migrate")
    assert "file_sha256" not in again and "SHA-256" not in again


def test_a_row_from_before_the_column_is_not_run_from_git(tmp_path: Path, url: str) -> None:
    """Its file left the working tree before migrate could record its bytes: the version in
    git has the checksum recorded, but nothing proves it is byte for byte what ran."""
    repo, name = on_feature(tmp_path, url)
    path = f"blog/migrations/{name}.py"
    drop_content_column(url)
    repo.git("checkout", "-q", "main")
    out = ok(repo, "migrate")
    assert "added the column file_sha256" in out
    assert ("recorded the SHA-256 of the files of 1 applied migration in gitmig_migrations, "
            "from the working tree, where they are unchanged; 1 whose files are not in the "
            "working tree have none") in out
    assert rows(url)[name] is None

    feature = repo.git("rev-parse", "--short", "feature").stdout.strip()
    before = repo.snapshot()
    result = repo.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        f"gitmig: error: cannot unapply blog.{name}, which is applied to the database: its "
        f"file in git (commit {feature}) cannot be proven to be byte for byte the file that "
        "ran: this database applied it before gitmig recorded each file's SHA-256; nothing "
        "was run or changed. Check out a branch that has its file and run `gitmig migrate "
        "blog 0001` there, or restore the file, byte for byte as it was applied, to "
        f"{path}: if you are sure commit {feature}'s version is it, `git show "
        f"{feature}:{path} > {path}`, then run `gitmig migrate blog 0001` and delete the "
        "file again\n")
    assert exported(repo) == []
    assert repo.snapshot() == before

    follow(repo, f"git show {feature}:{shlex.quote(path)} > {shlex.quote(path)}")
    assert f"Unapplying blog.{name}... OK" in ok(repo, "migrate", "blog", "0001")
    assert list(rows(url)) == ["0001_initial"]


@pytest.mark.slow
def test_a_changed_copy_in_gitmig_s_cache_is_written_again(tmp_path: Path) -> None:
    """.git/gitmig/blobs/ keeps the files it ran; one changed since is not run as it is."""
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    repo, name = on_feature(tmp_path, url)
    repo.git("checkout", "-q", "main")
    ok(repo, "migrate", "blog", "0001")
    (blob,) = exported(repo)
    copy = repo.root / ".git/gitmig/blobs" / blob / f"{name}.py"
    marker = tmp_path / "cache-code-ran"
    repo.git("checkout", "-q", "feature")
    ok(repo, "migrate")
    repo.git("checkout", "-q", "main")
    copy.write_text(copy.read_text() + f"\nopen({str(marker)!r}, 'w').close()\n")

    out = ok(repo, "migrate", "blog", "0001")
    assert f"Unapplying blog.{name}... OK" in out
    assert not marker.exists()
    assert copy.read_bytes() == repo.git("show", f"feature:blog/migrations/{name}.py"
                                         ).stdout.encode()


@pytest.mark.slow
def test_crafted_versions_of_a_missing_migration_are_never_run_nor_written_through(
    tmp_path: Path,
) -> None:
    """A fetched ref whose migrations folder holds, under the missing migration's name, a
    link out of the repository and a file with code of its own: reading it for
    showmigrations, status, the hook and migrate runs nothing and writes nothing outside."""
    import pygit2

    from .test_integrity_crafted_trees import BLOB, LINK, TREE, entries_of, files_outside_git
    from .test_integrity_crafted_trees import raw_tree as raw

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    repo, name = on_feature(tmp_path, url)
    applied = repo.git("show", f"feature:blog/migrations/{name}.py").stdout.encode()
    repo.git("checkout", "-q", "main")
    forget_feature(repo)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("precious\n")
    marker = tmp_path / "crafted-code-ran"
    r = pygit2.Repository(str(repo.root))
    head = r.head.peel(pygit2.Commit)
    file = f"{name}.py".encode()
    crafted = [
        (LINK, file, r.create_blob(b"../../../outside/victim.txt")),
        (BLOB, file, r.create_blob(applied + f"open({str(marker)!r}, 'w')\n".encode())),
    ]
    blog = head.tree["blog"]
    assert isinstance(blog, pygit2.Tree)
    folder = blog["migrations"]
    assert isinstance(folder, pygit2.Tree)
    migrations = raw(r, entries_of(folder) + crafted)
    blog_tree = raw(r, [e for e in entries_of(blog) if e[1] != b"migrations"]
                    + [(TREE, b"migrations", migrations)])
    root = raw(r, [e for e in entries_of(head.tree) if e[1] != b"blog"] + [(TREE, b"blog",
                                                                           blog_tree)])
    sig = pygit2.Signature("evil", "evil@example.com", 4102444800, 0)  # in 2100
    commit = r.create_commit(None, sig, sig, "crafted", root, [head.id])
    r.references.create("refs/remotes/origin/evil", commit, force=True)

    before = files_outside_git(tmp_path, repo.root / ".git")
    for args in (("showmigrations",), ("status",), ("migrate", "blog", "0001", "--plan"),
                 ("migrate", "blog", "0001"), ("hooks", "run", "post-checkout", "a", "b", "1")):
        result = repo.gitmig(*args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert "Traceback" not in result.output, (args, result.output)
        assert files_outside_git(tmp_path, repo.root / ".git") == before, args
    assert not marker.exists()
    assert exported(repo) == []
    assert list(rows(url)) == ["0001_initial", name]


@pytest.mark.slow
def test_showmigrations_says_git_s_version_is_not_the_file_applied(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    repo, name = on_feature(tmp_path, url)
    repo.git("checkout", "-q", "main")
    one_byte_fork(repo, name)
    forget_feature(repo)
    fork = repo.git("rev-parse", "--short", "refs/remotes/origin/pr-42").stdout.strip()
    shown = ok(repo, "showmigrations")
    assert (f"[X] {name}  (applied, but its file is missing; file in git: {fork}, not byte "
            "for byte the file applied;") in shown, shown
    status = repo.gitmig("status", "--json")
    assert status.exit_code == 1, status.output  # not clean: a migration to unapply
    (missing,) = json.loads(status.stdout)["applied_missing"]
    assert (missing["same_as_applied"], missing["same_bytes_as_applied"]) == (True, False)


@pytest.mark.slow
def test_a_migration_resolve_renumbered_is_recorded_with_its_new_bytes(
    tmp_path: Path,
) -> None:
    """resolve rewrites its parents line: the same code, other bytes. The row that follows
    it to its new name takes the new file's SHA-256, so git's copy of it can be run later."""
    from .twobranches import two_branches

    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    repo = two_branches(tmp_path)
    ok(repo, "migrate", "--database", url)
    before = rows(url)["0002_post_add_slug"]
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    ok(repo, "resolve")
    assert repo.git("commit", "-q", "--no-edit", check=False).exit_code == 0
    out = ok(repo, "migrate", "--database", url)
    assert "blog.0002_post_add_slug was renumbered to 0003_post_add_slug" in out
    after = rows(url)
    assert "0002_post_add_slug" not in after
    new = repo.root / "blog/migrations/0003_post_add_slug.py"
    assert after["0003_post_add_slug"] == sha256(new) != before
