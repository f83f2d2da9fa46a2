"""Hostile trial of the SQLite migration lock in WAL mode (gitmig.db.sqlitelock): the lock
file's place taken by a symbolic link or a folder, a folder gitmig may not write in, paths
with spaces and non-ASCII letters or reached through a linked folder. Real files, the CLI
in real processes; the user's files are never written, emptied or removed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Project
from .test_migrate import POST, make, models
from .test_sqlite_wal_lock import (
    APPLIED,
    HOLD,
    SAFETY,
    WAITING,
    first_line,
    history_names,
    journal,
    set_journal,
    spawn,
    wait_for,
)

pytestmark = pytest.mark.slow  # processes that wait for each other


def wal_project(project: Project, db: Path) -> str:
    """The first migration applied to `db`, put in WAL mode; a second one pending."""
    models(project, POST)
    make(project)
    url = f"sqlite:///{db}"
    first = project.gitmig("migrate", "--database", url)
    assert first.exit_code == 0, first.output
    set_journal(db, "wal")
    project.write("blog/migrations/0002_second.py",
                  '"""By hand."""\nfrom gitmig import ops\n\nparents = ["'
                  + project.migrations("blog")[0].removesuffix(".py")
                  + '"]\noperations = [ops.RunSQL("CREATE TABLE second (id int)")]\n')
    return url


def run(project: Project, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--no-input",
                           "--database", url], cwd=project.root, capture_output=True,
                          text=True, timeout=SAFETY)


def test_a_lock_path_linked_to_a_users_file(project: Project, tmp_path: Path) -> None:
    """The lock file's name is a symbolic link to a file of the user's elsewhere: that
    file keeps its content and stays where it is."""
    db = tmp_path / "db.sqlite3"
    url = wal_project(project, db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "notes.txt"
    precious.write_text("my notes\n")
    (tmp_path / "db.sqlite3-gitmig-lock").symlink_to(precious)

    r = run(project, url)

    assert precious.read_text() == "my notes\n"
    assert "Traceback" not in r.stderr
    if r.returncode == 0:
        assert APPLIED.findall(r.stdout) == ["blog.0002_second"]
    else:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "gitmig-lock" in r.stderr


def test_a_dangling_link_makes_no_file_elsewhere(project: Project, tmp_path: Path) -> None:
    """The lock file's name is a symbolic link to a path that does not exist: the run
    creates nothing there (a link planted in a shared folder must not make gitmig write
    where the planter chose)."""
    db = tmp_path / "db.sqlite3"
    url = wal_project(project, db)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "made-by-gitmig"
    (tmp_path / "db.sqlite3-gitmig-lock").symlink_to(target)

    r = run(project, url)

    assert not target.exists()
    assert "Traceback" not in r.stderr
    if r.returncode != 0:
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert "gitmig-lock" in r.stderr
        assert history_names(db) == [("blog", project.migrations("blog")[0][:-3])]


def test_a_folder_in_the_lock_files_place(project: Project, tmp_path: Path) -> None:
    """One line naming the path, no traceback, nothing applied, the folder and its
    content left; after the folder is moved away, the run applies."""
    db = tmp_path / "db.sqlite3"
    url = wal_project(project, db)
    folder = tmp_path / "db.sqlite3-gitmig-lock"
    folder.mkdir()
    (folder / "keep.txt").write_text("kept\n")

    r = run(project, url)

    assert r.returncode != 0 and r.stdout == ""
    assert len(r.stderr.strip().splitlines()) == 1 and str(folder) in r.stderr, r.stderr
    assert (folder / "keep.txt").read_text() == "kept\n"
    assert len(history_names(db)) == 1
    shutil.rmtree(folder)
    again = run(project, url)
    assert again.returncode == 0, again.stderr
    assert APPLIED.findall(again.stdout) == ["blog.0002_second"]


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs gitmig as another user (needs root and setpriv)")
def test_a_folder_gitmig_may_not_write_in() -> None:
    """The database and its WAL files writable, their folder not (a deploy's volume):
    one line naming what could not be made, no traceback, nothing applied."""
    import sqlite3
    import tempfile

    from .conftest import blog_project

    nobody = 65534
    top = Path(tempfile.mkdtemp(prefix="gitmig-nobody-"))
    try:
        os.chmod(top, 0o755)
        project = blog_project(top / "proj")
        folder = top / "data"
        folder.mkdir()
        db = folder / "db.sqlite3"
        url = wal_project(project, db)
        keeper = sqlite3.connect(db)  # keeps -wal and -shm in place while the folder is shut
        keeper.execute("SELECT 1 FROM sqlite_master").fetchall()
        for path in [top, *top.rglob("*")]:
            os.chown(path, nobody, nobody, follow_symlinks=False)
        os.chmod(folder, 0o555)
        try:
            r = subprocess.run(["setpriv", f"--reuid={nobody}", f"--regid={nobody}",
                                "--clear-groups", sys.executable, "-m", "gitmig", "migrate",
                                "--no-input", "--database", url],
                               cwd=project.root, capture_output=True, text=True,
                               timeout=SAFETY, env={**os.environ, "HOME": str(top),
                                                    "GITMIG_CACHE_DIR": str(top / "c")})
        finally:
            os.chmod(folder, 0o755)
            keeper.close()
        assert "Traceback" not in r.stderr, r.stderr
        if r.returncode != 0:
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
            assert len(history_names(db)) == 1
        else:
            assert APPLIED.findall(r.stdout) == ["blog.0002_second"]
    finally:
        shutil.rmtree(top)


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="runs gitmig as another user (needs root and setpriv)")
def test_a_lock_file_left_by_another_user_in_a_sticky_folder() -> None:
    """A killed run of another user's left the lock file in a shared (sticky) folder such
    as /tmp, where only its owner may remove it: the migration applies; no traceback."""
    import tempfile

    from .conftest import blog_project

    nobody = 65534
    top = Path(tempfile.mkdtemp(prefix="gitmig-sticky-"))
    try:
        os.chmod(top, 0o755)
        project = blog_project(top / "proj")
        folder = top / "shared"
        folder.mkdir()
        db = folder / "db.sqlite3"
        url = wal_project(project, db)
        for path in [top, *top.rglob("*")]:
            os.chown(path, nobody, nobody, follow_symlinks=False)
        os.chmod(folder, 0o1777)
        os.chown(folder, 0, 0)
        left = folder / "db.sqlite3-gitmig-lock"
        left.touch()  # root's, as a killed run of root's leaves it
        r = subprocess.run(["setpriv", f"--reuid={nobody}", f"--regid={nobody}",
                            "--clear-groups", sys.executable, "-m", "gitmig", "migrate",
                            "--no-input", "--database", url],
                           cwd=project.root, capture_output=True, text=True,
                           timeout=SAFETY, env={**os.environ, "HOME": str(top),
                                                "GITMIG_CACHE_DIR": str(top / "c")})
        assert "Traceback" not in r.stderr, r.stderr
        assert r.returncode == 0, r.stderr
        assert APPLIED.findall(r.stdout) == ["blog.0002_second"]
        assert len(history_names(db)) == 2
    finally:
        shutil.rmtree(top)


@pytest.mark.parametrize("how", ["spaces-unicode", "linked-folder"])
def test_a_second_run_waits_whatever_the_path(project: Project, tmp_path: Path,
                                              how: str) -> None:
    """A path with spaces and non-ASCII letters, or the same file reached through a
    linked folder by the second run: the second run waits, then has nothing to do; no
    lock file is left."""
    folder = tmp_path / ("dåta fïles" if how == "spaces-unicode" else "real")
    folder.mkdir()
    db = folder / "my db ü.sqlite3"
    url = wal_project(project, db)
    (project.root / "blog/migrations/0002_second.py").unlink()
    second_url = url
    if how == "linked-folder":
        (tmp_path / "link").symlink_to(folder)
        second_url = f"sqlite:///{tmp_path / 'link' / db.name}"
    initial = project.migrations("blog")[0].removesuffix(".py")
    project.write("blog/migrations/0002_hold.py", HOLD.format(parent=initial))
    signals = tmp_path / "signals"
    signals.mkdir()

    a = spawn(project, url, signals)
    procs = [a]
    try:
        wait_for(signals / "inside", a)
        b = spawn(project, second_url, signals)
        procs.append(b)
        seen = first_line(b, 30)
        (signals / "release").touch()
        outs = [p.communicate(timeout=SAFETY) for p in procs]
    finally:
        (signals / "release").touch()
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert seen == WAITING, outs
    assert [p.returncode for p in procs] == [0, 0], outs
    assert APPLIED.findall(outs[0][0]) == ["blog.0002_hold"], outs
    assert outs[1][0] == "No migrations to apply.\n", outs
    assert history_names(db) == [("blog", initial), ("blog", "0002_hold")]
    assert journal(db) == "wal"
    assert not list(folder.glob("*gitmig-lock*"))
