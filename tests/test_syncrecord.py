"""The record of the models in sync, kept in the lock file (gitmig.migrations.syncrecord):
a fresh clone's first `makemigrations --check` answers from it without importing SQLAlchemy
or the models, and anything it did not see (an edit, a new module, another database, a
tampered record) sends the check the full way, with the same answer as with no record."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .gitrepo import SLUG, Repo, make_repo

LOCK = "blog/migrations/gitmig.lock"


def clone(repo: Repo, tmp_path: Path) -> Repo:
    """A fresh clone of the repository, as CI checks it out."""
    copy = Repo(tmp_path / "clone", repo.home)
    repo.git("clone", "-q", str(repo.root), str(copy.root))
    return copy


def check(repo: Repo, tmp_path: Path, **env: str) -> tuple[int, str, bool]:
    """`gitmig makemigrations --check` with an empty cache: (exit code, output, whether
    SQLAlchemy was imported)."""
    cache = tmp_path / f"cache-{len(list(tmp_path.glob('cache-*')))}"
    run = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gitmig", "makemigrations", "--check"],
        cwd=repo.root, env={**repo.env(), "GITMIG_CACHE_DIR": str(cache), **env},
        capture_output=True, text=True)
    imported = {line.rpartition("|")[2].strip() for line in run.stderr.splitlines()
                if line.startswith("import time:")}
    output = run.stdout + "".join(line + "\n" for line in run.stderr.splitlines()
                                  if not line.startswith("import time:"))
    return run.returncode, output, "sqlalchemy" in imported


def full(repo: Repo, tmp_path: Path, **env: str) -> tuple[int, str]:
    """The same check with no shortcut at all."""
    code, output, imported = check(repo, tmp_path, GITMIG_NO_CACHE="1", **env)
    assert imported
    return code, output


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "proj", tmp_path / "home")


def test_makemigrations_writes_the_record_into_the_lock_file(repo: Repo) -> None:
    lines = repo.read(LOCK).splitlines()
    assert lines[1] == "leaf: 0001_initial"
    assert lines[3].startswith("# models in sync, key: ")
    assert lines[4] == '# models read: ["blog/__init__.py", "blog/models.py"]'
    assert lines[5].startswith('# models imported: {"sqlalchemy": "sqlalchemy-')


def test_a_fresh_clone_answers_without_importing_sqlalchemy(repo: Repo, tmp_path: Path
                                                            ) -> None:
    copy = clone(repo, tmp_path)
    assert check(copy, tmp_path) == (0, "No changes detected.\n", False)


def test_a_model_change_without_its_migration_is_caught(repo: Repo, tmp_path: Path) -> None:
    copy = clone(repo, tmp_path)
    copy.write("blog/models.py", copy.read("blog/models.py") + SLUG)
    code, output, imported = check(copy, tmp_path)
    assert (code, imported) == (1, True)
    assert "post" in output and "slug" in output
    assert (code, output) == full(copy, tmp_path)


def shadowing_package(copy: Repo) -> None:
    """blog/models/__init__.py beside blog/models.py: the import takes the package, whose
    Post has a column more; models.py itself is unchanged."""
    copy.write("blog/models/__init__.py", copy.read("blog/models.py") + SLUG)


def edit_migration(copy: Repo) -> None:
    path = "blog/migrations/0001_initial.py"
    copy.write(path, copy.read(path).replace('sa.String(length=200)', 'sa.String(length=100)'))


@pytest.mark.parametrize("change", [
    pytest.param(lambda c: c.write("blog/models.py", c.read("blog/models.py") + "# note\n"),
                 id="a comment in the models"),
    pytest.param(shadowing_package, id="a package shadowing the models module"),
    pytest.param(edit_migration, id="a migration edited"),
    pytest.param(lambda c: c.write("pyproject.toml", c.read("pyproject.toml") + "# x\n"),
                 id="pyproject.toml edited"),
    pytest.param(lambda c: c.write("blog/helpers.py", ""), id="a new module in the package"),
])
def test_anything_the_record_did_not_see_takes_the_full_way(repo: Repo, tmp_path: Path,
                                                            change: object) -> None:
    copy = clone(repo, tmp_path)
    change(copy)  # type: ignore[operator]
    code, output, imported = check(copy, tmp_path)
    assert imported
    assert (code, output) == full(copy, tmp_path)


def test_the_shadowing_package_is_reported_as_a_change(repo: Repo, tmp_path: Path) -> None:
    copy = clone(repo, tmp_path)
    shadowing_package(copy)
    assert check(copy, tmp_path)[0] == 1


def test_another_database_or_no_cache_takes_the_full_way(repo: Repo, tmp_path: Path) -> None:
    copy = clone(repo, tmp_path)
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    assert check(copy, tmp_path, GITMIG_DATABASE_URL=url)[1:] == ("No changes detected.\n",
                                                                   True)
    assert check(copy, tmp_path, GITMIG_NO_CACHE="1")[1:] == ("No changes detected.\n", True)


@pytest.mark.parametrize("tamper", [
    pytest.param(lambda t: t.replace("key: ", "key: 0"), id="another key"),
    pytest.param(lambda t: t.replace('["blog/__init__.py", ', '["../etc/passwd", '),
                 id="a file outside the project"),
    pytest.param(lambda t: t.replace('# models read: [', '# models read: {'), id="not JSON"),
    pytest.param(lambda t: t.replace("sqlalchemy-", "sqlalchemy-0.0.1+"),
                 id="another SQLAlchemy"),
    pytest.param(lambda t: t.rsplit("\n", 2)[0] + "\n", id="truncated"),
])
def test_a_tampered_record_is_never_trusted(repo: Repo, tmp_path: Path, tamper: object
                                            ) -> None:
    copy = clone(repo, tmp_path)
    copy.write("blog/models.py", copy.read("blog/models.py") + SLUG)
    text = copy.read(LOCK)
    (copy.root / LOCK).write_text(tamper(text))  # type: ignore[operator]
    code, output, imported = check(copy, tmp_path)
    assert (code, imported) == (1, True)
    assert "Traceback" not in output
    assert (code, output) == full(copy, tmp_path)


def test_models_reading_outside_the_project_get_no_record(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "kinds.py").write_text("TITLE_LENGTH = 200\n")
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n'
               'pythonpath = ["../shared"]\n[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", """
        import sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
        from kinds import TITLE_LENGTH


        class Base(DeclarativeBase):
            pass


        class Post(Base):
            __tablename__ = "post"
            id: Mapped[int] = mapped_column(primary_key=True)
            title: Mapped[str] = mapped_column(sa.String(TITLE_LENGTH))
        """)
    repo.git("init", "-q", "-b", "main")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert "# models" not in repo.read(LOCK)  # kinds.py is not in the repository
    (shared / "kinds.py").write_text("TITLE_LENGTH = 100\n")
    assert check(repo, tmp_path)[0] == 1


def test_resolve_and_squash_leave_a_lock_the_loader_reads(repo: Repo, tmp_path: Path) -> None:
    result = repo.gitmig("resolve")
    assert result.stdout == "No conflicting migrations; nothing to resolve.\n"
    assert "# models in sync" in repo.read(LOCK)  # nothing to resolve: the lock is kept


def test_a_record_naming_a_device_or_a_fifo_is_refused_without_reading_it(
        repo: Repo, tmp_path: Path) -> None:
    copy = clone(repo, tmp_path)
    copy.write("blog/models.py", copy.read("blog/models.py") + SLUG)
    (copy.root / "blog" / "zero.py").symlink_to("/dev/zero")
    os.mkfifo(copy.root / "blog" / "fifo.py")
    text = copy.read(LOCK).replace('"blog/models.py"]', '"blog/models.py", "blog/zero.py", '
                                   '"blog/fifo.py"]')
    (copy.root / LOCK).write_text(text)
    code, output, imported = check(copy, tmp_path)  # neither blocks nor fills the memory
    assert (code, imported) == (1, True)


READING = """
import json
import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

LENGTHS = json.loads((Path(__file__).parent / "lengths.json").read_text())


class Base(DeclarativeBase):
    pass


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(LENGTHS["title"]))
    body: Mapped[str] = mapped_column(sa.String(int(os.environ.get("BODY_LENGTH", "500"))))
"""


@pytest.fixture
def reading(tmp_path: Path) -> Repo:
    """Models whose columns follow a JSON file and an environment variable."""
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n'
               '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", READING)
    repo.write("blog/lengths.json", '{"title": 200}')
    repo.git("init", "-q", "-b", "main")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    repo.commit(message="initial")
    return repo


def test_the_record_keys_the_files_and_variables_the_models_read(reading: Repo,
                                                                 tmp_path: Path) -> None:
    lock = reading.read(LOCK)
    assert '# models read: ["blog/__init__.py", "blog/lengths.json", "blog/models.py"]' in lock
    assert '# models environment: ["BODY_LENGTH"]' in lock
    copy = clone(reading, tmp_path)
    assert check(copy, tmp_path) == (0, "No changes detected.\n", False)
    code, output, imported = check(copy, tmp_path, BODY_LENGTH="80")
    assert (code, imported) == (1, True)
    assert (code, output) == full(copy, tmp_path, BODY_LENGTH="80")
    copy.write("blog/lengths.json", '{"title": 120}')
    code, output, imported = check(copy, tmp_path)
    assert (code, imported) == (1, True)
    assert (code, output) == full(copy, tmp_path)


def test_the_state_cache_sees_a_variable_or_a_data_file_change(reading: Repo,
                                                              tmp_path: Path) -> None:
    cache = {"GITMIG_CACHE_DIR": str(tmp_path / "warm")}
    reading.write("blog/models.py", READING + "# the lock's record no longer answers\n")
    assert reading.gitmig("makemigrations", "--check", env=cache).exit_code == 0
    assert reading.gitmig("makemigrations", "--check",
                          env={**cache, "BODY_LENGTH": "80"}).exit_code == 1
    reading.write("blog/lengths.json", '{"title": 120}')
    assert reading.gitmig("makemigrations", "--check", env=cache).exit_code == 1


def test_models_reading_the_whole_environment_get_no_record(tmp_path: Path) -> None:
    repo = Repo(tmp_path / "proj", tmp_path / "home")
    repo.write("pyproject.toml", '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n'
               '[tool.gitmig.apps]\nblog = "blog.models"\n')
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", "import os\nSETTINGS = dict(os.environ)\n"
               + READING.replace("Path(__file__).parent / \"lengths.json\"", "Path('x')")
               .replace('json.loads((Path(\'x\')).read_text())', '{"title": 200}'))
    repo.git("init", "-q", "-b", "main")
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert "# models" not in repo.read(LOCK)
