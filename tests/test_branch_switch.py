"""Switching branches after migrating: migrations applied to the database that the
checked-out branch lacks are reported (showmigrations, status, the post-checkout hook)
and unapplied with `gitmig migrate APP TARGET`, their files taken from git's objects."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest
import sqlalchemy as sa

from .gitrepo import SLUG, Repo, add_slug, make_repo
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)

TAGS = """
class Tag(Base):
    __tablename__ = "tag"
    __table_args__ = (sa.Index("ix_tag_label", "label", unique=True),)
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(sa.String(40))
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id", ondelete="CASCADE"))
"""


def gitmig(repo: Repo, *args: str) -> str:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def short(repo: Repo, rev: str) -> str:
    return repo.git("rev-parse", "--short", rev).stdout.strip()


def on_database(repo: Repo, url: str) -> None:
    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', f'database = "{url}"'))
    assert repo.commit(message="database").exit_code == 0


def feature_branch(repo: Repo, body: str = SLUG) -> str:
    """On a new branch `feature`: a model change, its migration 0002, committed and
    migrated; back on main afterwards is up to the test. Returns the migration's name."""
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("blog/models.py", repo.read("blog/models.py") + body)
    made = repo.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    (name,) = [n for n in repo.migrations("blog") if n.startswith("0002")]
    run = repo.commit(message="feature")
    assert run.exit_code == 0, run.output
    assert "Applying blog.0002" in gitmig(repo, "migrate")
    return name.removesuffix(".py")


def metadata(repo: Repo) -> sa.MetaData:
    md: sa.MetaData = runpy.run_path(str(repo.root / "blog" / "models.py"))["Base"].metadata
    return md


@pytest.mark.slow
def test_switching_back_reports_the_migration_and_unapplies_it_from_git(
    tmp_path: Path, database_url: str
) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    on_database(repo, database_url)
    gitmig(repo, "hooks", "install")
    gitmig(repo, "migrate")
    name = feature_branch(repo, SLUG + TAGS)
    commit = short(repo, "feature")

    checkout = repo.git("checkout", "-q", "main")

    assert not (repo.root / "blog/migrations" / f"{name}.py").exists()
    assert checkout.stderr == (
        f"gitmig: warning: blog.{name} is applied to the database {database_url} but this "
        f"branch does not have it (file in git: {commit}); unapply it with "
        "`gitmig migrate blog 0001`\n")
    assert gitmig(repo, "showmigrations").splitlines() == [
        "blog",
        " [X] 0001_initial",
        f" [X] {name}  (applied, but its file is missing; file in git: {commit}; unapply it "
        "with `gitmig migrate blog 0001`)",
    ]

    result = repo.gitmig("migrate", "blog", "0001")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Unapplying blog.{name}... OK (")
    assert result.stderr == (f"warning: blog.{name} is not in the working tree; unapplying "
                             f"the version in git (commit {commit})\n")
    main = metadata(repo)
    names = explicit_names(main)
    with scratch_database(database_url) as scratch:
        assert_same_schema(reflected_schema(database_url, named=names),
                           create_all_schema(main, scratch, named=names))
    assert gitmig(repo, "showmigrations").splitlines() == ["blog", " [X] 0001_initial"]
    assert gitmig(repo, "status").endswith(
        "Nothing to do: models, migrations and the database agree.\n")
    assert repo.git("checkout", "-q", "feature").stderr == ""  # nothing applied it lacks


def test_a_deleted_branch_is_still_found_through_the_reflog(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    gitmig(repo, "migrate")
    name = feature_branch(repo)
    commit = short(repo, "feature")
    repo.git("checkout", "-q", "main")
    repo.git("branch", "-q", "-D", "feature")

    listing = gitmig(repo, "showmigrations")
    assert f"file in git: {commit}; unapply it with `gitmig migrate blog 0001`" in listing
    result = repo.gitmig("migrate", "blog", "zero")
    assert result.exit_code == 0, result.output
    assert [line.split("...")[0] for line in result.stdout.splitlines()] == [
        f"Unapplying blog.{name}", "Unapplying blog.0001_initial"]
    assert sa.inspect(sa.create_engine(f"sqlite:///{repo.root / 'db.sqlite3'}")
                      ).get_table_names() == ["gitmig_migrations"]


def test_the_version_that_was_applied_is_the_one_unapplied(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    gitmig(repo, "migrate")
    name = feature_branch(repo)  # slug String(50), applied
    applied_in = short(repo, "feature")
    path = f"blog/migrations/{name}.py"
    # Later on the branch the migration is edited (a mistake: it was applied already).
    repo.write(path, repo.read(path).replace("length=50", "length=80"))
    repo.git("commit", "-q", "--no-verify", "-am", "edit an applied migration")
    repo.git("checkout", "-q", "main")

    assert f"file in git: {applied_in};" in gitmig(repo, "showmigrations")
    result = repo.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 0, result.output
    assert f"the version in git (commit {applied_in})" in result.stderr


def test_a_file_git_never_had_cannot_be_unapplied(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    gitmig(repo, "hooks", "install")
    add_slug(repo)
    gitmig(repo, "makemigrations")
    gitmig(repo, "migrate")
    (repo.root / "blog/migrations/0002_post_add_slug.py").unlink()  # never committed
    repo.write("blog/models.py", repo.read("blog/models.py").replace(SLUG, ""))

    assert gitmig(repo, "showmigrations").splitlines()[-1] == (
        " [X] 0002_post_add_slug  (applied, but its file is missing; file not found in git)")
    before = repo.snapshot()
    result = repo.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 2
    assert result.stderr == (
        "gitmig: error: cannot unapply blog.0002_post_add_slug, which is applied to the "
        "database: its file is in neither the working tree nor git (searched every branch, "
        "tag and the reflog); nothing was changed. Check out a branch that has its file and "
        "run `gitmig migrate blog 0001` there, or restore the file, as it was applied, to "
        "blog/migrations/0002_post_add_slug.py\n")
    assert repo.snapshot() == before  # the database file included
    run = repo.run_python("-m", "gitmig", "hooks", "run", "post-checkout", "a", "b", "1")
    assert run.exit_code == 0
    assert run.stderr.endswith(
        "but this branch does not have it (file not found in git); check out a branch that "
        "has it to unapply it\n")


@pytest.mark.slow
def test_the_hook_never_fails_a_checkout_when_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    on_database(repo, "postgresql+psycopg://nobody:secret@127.0.0.1:1/nothing")
    gitmig(repo, "hooks", "install")
    repo.git("branch", "-q", "other")
    add_slug(repo)
    gitmig(repo, "makemigrations")
    assert repo.commit(message="slug").exit_code == 0  # a migration `other` lacks
    run = repo.git("checkout", "-q", "other", check=False)
    assert run.exit_code == 0
    assert run.stderr.startswith(
        "gitmig: warning: not checking for applied migrations this branch lacks: cannot "
        "connect to the database postgresql+psycopg://nobody:***@127.0.0.1:1/nothing: ")
    assert len(run.stderr.splitlines()) == 1
    assert "secret" not in run.stderr
    assert repo.git("rev-parse", "--abbrev-ref", "HEAD").stdout == "other\n"
    assert repo.migrations("blog") == ["0001_initial.py"]


def test_another_apps_migration_built_on_it_is_unapplied_too(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", repo.read("pyproject.toml") + 'shop = "shop.models"\n')
    repo.write("shop/__init__.py", "")
    repo.write("shop/models.py", "from blog.models import Base, Mapped, mapped_column, sa\n")
    gitmig(repo, "makemigrations")
    assert repo.commit(message="shop").exit_code == 0
    gitmig(repo, "migrate")
    repo.git("checkout", "-q", "-b", "feature")
    add_slug(repo)
    repo.write("shop/models.py", repo.read("shop/models.py") + TAGS.replace("tag", "item"))
    gitmig(repo, "makemigrations")
    assert repo.commit(message="feature").exit_code == 0
    gitmig(repo, "migrate")
    repo.git("checkout", "-q", "main")

    status = repo.gitmig("status")
    assert status.exit_code == 1
    assert "  blog.0002_post_add_slug  (file in git: " in status.stdout
    assert "  shop.0001_initial  (file in git: " in status.stdout
    result = repo.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 0, result.output
    assert [line.split("...")[0] for line in result.stdout.splitlines()] == [
        "Unapplying shop.0001_initial", "Unapplying blog.0002_post_add_slug"]


@pytest.mark.slow
def test_spaces_quotes_and_command_substitution_in_the_path(tmp_path: Path) -> None:
    nasty = tmp_path / "it's a \"repo\" $(touch pwned) `touch pwned`"
    repo = make_repo(nasty / "proj", tmp_path / "home")
    gitmig(repo, "hooks", "install")
    gitmig(repo, "migrate")
    feature_branch(repo)
    run = repo.git("checkout", "-q", "main")
    assert "unapply it with `gitmig migrate blog 0001`" in run.stderr
    result = repo.gitmig("migrate", "blog", "0001")
    assert result.exit_code == 0, result.output
    assert list(tmp_path.glob("**/pwned")) == []


def test_a_checkout_that_takes_no_migration_away_does_not_read_the_database(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    gitmig(repo, "migrate")
    name = feature_branch(repo)
    repo.git("checkout", "-q", "main")
    repo.write("notes.txt", "not a migration\n")
    assert repo.commit(message="notes").exit_code == 0
    old, new = (repo.git("rev-parse", rev).stdout.strip() for rev in ("main", "main~1"))

    def hook(previous: str, current: str) -> str:
        run = repo.run_python("-X", "importtime", "-P", "-m", "gitmig", "hooks", "run",
                              "post-checkout", previous, current, "1")
        assert run.exit_code == 0
        return run.stderr

    quiet = hook(old, new)  # main -> main~1: no migration file goes away
    assert "gitmig: warning" not in quiet
    assert "sqlalchemy" not in quiet  # the import log: no database was read
    loud = hook(repo.git("rev-parse", "feature").stdout.strip(), new)  # feature -> main~1
    assert f"gitmig: warning: blog.{name} is applied to the database" in loud
