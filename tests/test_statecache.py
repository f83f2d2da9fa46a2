"""The state cache: reused only when nothing it was computed from has changed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitmig.config import load_config
from gitmig.migrations import insync, statecache, syncrecord

from .conftest import BASE, Project

POST = BASE + """

class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))
"""


@pytest.fixture
def synced(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    """A project whose migrations match its models, with a cache of its own."""
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))
    project.write("blog/models.py", POST)
    assert project.gitmig("makemigrations").exit_code == 0
    lock = project.root / "blog" / "migrations" / "gitmig.lock"
    lock.write_text(syncrecord.strip(lock.read_text()))  # these tests are about the cache
    assert project.gitmig("makemigrations", "--check").exit_code == 0
    return project


def pending(project: Project) -> bool | None:
    return insync.nothing_pending(load_config(project.root))


def test_a_run_that_compared_them_answers_the_next_from_the_cache(synced: Project) -> None:
    assert pending(synced) is True


def test_an_edited_models_file_is_never_answered_from_the_cache(synced: Project) -> None:
    synced.write("blog/models.py", POST.replace("String(80)", "String(90)"))
    assert pending(synced) is None
    r = synced.gitmig("makemigrations", "--check")
    assert r.exit_code == 1
    assert "Alter column post.title" in r.stdout


def test_an_edited_migration_is_never_answered_from_the_cache(synced: Project) -> None:
    path = synced.root / "blog" / "migrations" / "0001_initial.py"
    path.write_text(path.read_text().replace("length=80", "length=70"))
    assert pending(synced) is None
    assert synced.gitmig("makemigrations", "--check").exit_code == 1


def test_a_file_the_models_import_is_part_of_the_key(synced: Project) -> None:
    synced.write("blog/lengths.py", "TITLE = 80\n")
    synced.write("blog/models.py", "from blog.lengths import TITLE\n" +
                 POST.replace("String(80)", "String(TITLE)"))
    assert synced.gitmig("makemigrations", "--check").exit_code == 0
    assert pending(synced) is True
    synced.write("blog/lengths.py", "TITLE = 81\n")
    assert pending(synced) is None
    assert synced.gitmig("makemigrations", "--check").exit_code == 1


def test_a_damaged_cache_is_recomputed(synced: Project, tmp_path: Path) -> None:
    for path in (tmp_path / "cache").iterdir():
        path.write_bytes(b"not a pickle")
    assert pending(synced) is None
    assert synced.gitmig("makemigrations", "--check").exit_code == 0
    assert pending(synced) is True


def test_no_cache_when_turned_off(synced: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITMIG_NO_CACHE", "1")
    assert pending(synced) is None


def test_a_cache_hit_does_not_import_sqlalchemy(synced: Project, tmp_path: Path) -> None:
    code = (
        "import sys; from gitmig.migrations import insync; from gitmig.config import load_config; "
        "print(insync.nothing_pending(load_config()), 'sqlalchemy' in sys.modules)"
    )
    env = {**os.environ, "GITMIG_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], cwd=synced.root, env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_cached_states_hold_only_plain_values(synced: Project, tmp_path: Path) -> None:
    # No SQLAlchemy object is pickled (a path naming an installed package may say
    # "sqlalchemy": the models' entry keeps the stamps of flask_sqlalchemy's files).
    import io
    import pickle

    classes: list[str] = []

    class Listing(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> object:
            classes.append(module)
            return super().find_class(module, name)

    entries = [p for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert entries
    for path in entries:
        Listing(io.BytesIO(path.read_bytes())).load()
    assert not [m for m in classes if m.split(".")[0] == "sqlalchemy"]
    assert statecache.cache_dir() == tmp_path / "cache"


def test_makemigrations_check_in_sync_answers_without_sqlalchemy(synced: Project,
                                                                  tmp_path: Path) -> None:
    env = {**os.environ, "GITMIG_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", "makemigrations",
                        "--check"], cwd=synced.root, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "No changes detected.\n"
    assert "sqlalchemy" not in r.stderr
    synced.write("blog/models.py", POST.replace("String(80)", "String(90)"))
    r = subprocess.run([sys.executable, "-m", "gitmig", "makemigrations", "--check"],
                       cwd=synced.root, env=env, capture_output=True, text=True)
    assert r.returncode == 1
    assert "Alter column post.title" in r.stdout
