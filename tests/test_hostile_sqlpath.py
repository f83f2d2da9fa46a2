"""A hostile trial of the warm SQL path (gitmig.actions.warmmigrate): cases where it
could do what the full path would not. Each compares a warm run with a full one."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Project
from .test_migrate import POST, POST_WITH_SLUG, make, models
from .test_migrate_sqlpath import (
    behind,
    catalog,
    cli,
    history,
    no_ms,
    recorded,
    restore,
    three_migrations,
)


def journal(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        mode: str = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return mode


def test_a_wal_database_matches_the_full_run(project: Project, tmp_path: Path) -> None:
    three_migrations(project)
    db, url, template = behind(project, tmp_path)
    with sqlite3.connect(template) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
    restore(template, db)
    recorded(project, db, url, template)
    cold, _ = cli(project, "migrate", "--database", url, env_cache=False)
    cold_state = (catalog(db), history(db), journal(db))
    restore(template, db)

    r, imported = cli(project, "migrate", "--database", url)

    assert "sqlalchemy" not in imported
    assert (r.returncode, no_ms(r.stdout), r.stderr) == (cold.returncode,
                                                         no_ms(cold.stdout), cold.stderr)
    assert (catalog(db), history(db), journal(db)) == cold_state
    # the migration lock is released: another connection writes at once
    with sqlite3.connect(db, timeout=0) as conn:
        conn.execute("INSERT INTO post (id, title) VALUES (1, 'a')")



def test_a_migration_reading_the_environment_is_not_replayed(
        project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A migration may compute a value when it runs (an environment variable, the time
    of day, a file it opens) with the standard library alone: the full path writes
    today's value, a replay the recording run's."""
    for body in (POST, POST_WITH_SLUG):
        models(project, body)
        make(project)
    second = project.root / "blog" / "migrations" / project.migrations("blog")[1]
    second.write_text("import os\n" + second.read_text().replace(
        "nullable=True))", "nullable=False), backfill=os.environ['SLUG_DEFAULT'])"))
    db, url, template = behind(project, tmp_path)
    with sqlite3.connect(template) as conn:
        conn.execute("INSERT INTO post (id, title) VALUES (1, 'a')")
    restore(template, db)
    monkeypatch.setenv("SLUG_DEFAULT", "recorded")
    recorded(project, db, url, template)
    monkeypatch.setenv("SLUG_DEFAULT", "today")

    r, _ = cli(project, "migrate", "--database", url)

    assert r.returncode == 0, r.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT slug FROM post").fetchall() == [("today",)]


COMMENT = """
class Comment(Base):
    __tablename__ = "comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"), index=True)
"""


def test_a_table_rebuild_matches_the_full_run(project: Project, tmp_path: Path) -> None:
    """A type change SQLite makes by copying the table, which another one refers to."""
    models(project, POST + COMMENT)
    make(project)
    models(project, POST.replace("sa.String(200)", "sa.Text") + COMMENT)
    make(project)
    db, url, template = behind(project, tmp_path)
    with sqlite3.connect(template) as conn:
        conn.execute("INSERT INTO post (id, title) VALUES (1, 'a')")
        conn.execute("INSERT INTO comment (id, post_id) VALUES (1, 1)")
    restore(template, db)
    recorded(project, db, url, template)
    cold, _ = cli(project, "migrate", "--database", url, env_cache=False)
    cold_state = (catalog(db), history(db))
    restore(template, db)

    r, imported = cli(project, "migrate", "--database", url)

    assert (r.returncode, no_ms(r.stdout), r.stderr) == (cold.returncode,
                                                         no_ms(cold.stdout), cold.stderr)
    assert (catalog(db), history(db)) == cold_state
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT * FROM comment").fetchall() == [(1, 1)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    print("warm" if "sqlalchemy" not in imported else "full")


def interactive(project: Project, url: str, answer: str, env_cache: bool = True
                ) -> subprocess.CompletedProcess[str]:
    """gitmig with a terminal on stdin (so it asks before data is dropped), answering."""
    env = dict(os.environ, **({} if env_cache else {"GITMIG_NO_CACHE": "1"}))
    main, tty = os.openpty()
    try:
        os.write(main, answer.encode())
        return subprocess.run([sys.executable, "-m", "gitmig", "migrate", "--database", url],
                              cwd=project.root, stdin=tty, capture_output=True, text=True,
                              env=env, timeout=60)
    finally:
        os.close(main)
        os.close(tty)


def test_a_terminal_is_asked_before_data_is_dropped(project: Project,
                                                    tmp_path: Path) -> None:
    models(project, POST_WITH_SLUG)
    make(project)
    models(project, POST)
    make(project)
    db, url, template = behind(project, tmp_path)
    recorded(project, db, url, template)  # no terminal: nobody asked, the SQL recorded
    cold = interactive(project, url, "n\n", env_cache=False)
    restore(template, db)

    r = interactive(project, url, "n\n")

    assert "These operations drop data" in cold.stdout
    assert (r.returncode, no_ms(r.stdout)) == (cold.returncode, no_ms(cold.stdout))
    assert history(db) == history(template)


@pytest.mark.slow
@pytest.mark.parametrize("wal", [False, True])
def test_two_warm_runs_at_once(project: Project, tmp_path: Path, wal: bool) -> None:
    """Each migration applied once, reported once, by one of them; both succeed."""
    three_migrations(project)
    db, url, template = behind(project, tmp_path, 2)
    if wal:
        with sqlite3.connect(template) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
        restore(template, db)
    recorded(project, db, url, template)
    cold, _ = cli(project, "migrate", "--database", url, env_cache=False)
    cold_state = (catalog(db), history(db))
    for _ in range(3):
        restore(template, db)
        runs = [subprocess.Popen([sys.executable, "-m", "gitmig", "migrate", "--database",
                                  url], cwd=project.root, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in runs]

        assert [p.returncode for p in runs] == [0, 0], outs
        assert sum(o.count("Applying") for o, _ in outs) == 2, outs
        assert not any("FAILED" in o for o, _ in outs), outs
        assert (catalog(db), history(db)) == cold_state
