"""The benchmark's generator writes projects each tool accepts as in sync (no timings here).

The bench is only worth its numbers if the three projects do the same work: these run the
generator on tiny histories and ask each tool whether its migrations match its models.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import generate, schemas
from gitmig.migrations import syncrecord

pytestmark = pytest.mark.slow  # generates and runs whole benchmark projects

BIN = Path(sys.executable).parent


def _run(cmd: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("GITMIG_", "BENCH_", "DJANGO_"))}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env={**clean, **env})


def _gitmig(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "gitmig", *args], cwd)


def test_generated_gitmig_project_is_in_sync(tmp_path: Path) -> None:
    meta = generate.generate(5, tmp_path, tables=6, tools=["gitmig"])
    project = tmp_path / "gitmig"
    migrations = sorted(p.name for p in (project / "shop" / "migrations").glob("0*.py"))
    assert len(migrations) == 5
    assert migrations[0] == "0001_initial.py"
    result = _gitmig(project, "makemigrations", "--check")
    assert result.returncode == 0, result.stdout + result.stderr
    # One commit per migration, and the feature branches for `conflicts`.
    log = _run(["git", "log", "--format=%s"], project).stdout.split()
    assert log[0] == migrations[-1].removesuffix(".py")
    assert len(log) == 5
    branches = _run(["git", "branch", "--list", "feature/*"], project).stdout.split()
    assert len(branches) == meta["gitmig"]["branches"] == generate.BRANCHES
    assert list((project / ".bench" / "hook").glob("0006_*.py"))


def test_in_process_files_equal_what_makemigrations_writes(tmp_path: Path) -> None:
    """The bench writes gitmig's files in one process for speed; they must be the very
    files `gitmig makemigrations` writes step by step (renames, alters, indexes, drops)."""
    generate.generate(14, tmp_path / "api", seed=3, tables=4, tools=["gitmig"])
    generate.generate(14, tmp_path / "cli", seed=3, tables=4, tools=["gitmig"], gitmig_via="cli")
    api = tmp_path / "api" / "gitmig" / "shop" / "migrations"
    cli = tmp_path / "cli" / "gitmig" / "shop" / "migrations"
    names = sorted(p.name for p in api.glob("0*.py"))
    assert names == sorted(p.name for p in cli.glob("0*.py"))
    assert any("_rename_" in n for n in names)
    for name in names:
        assert (api / name).read_text() == (cli / name).read_text(), name
    # The lock too, but for the record of the models in sync that only the command writes
    # (bench/run.py add_sync_record adds it to a generated project's last commit).
    lock = (cli / "gitmig.lock").read_text()
    assert "# models in sync, key: " in lock
    assert (api / "gitmig.lock").read_text() == syncrecord.strip(lock)


@pytest.mark.skipif(importlib.util.find_spec("django") is None, reason="Django not installed")
def test_generated_django_project_is_in_sync(tmp_path: Path) -> None:
    generate.generate(5, tmp_path, tables=6, tools=["django"])
    result = _run([sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
                  tmp_path / "django")
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_alembic_project_ends_where_gitmig_does(tmp_path: Path) -> None:
    generate.generate(14, tmp_path, seed=3, tables=4, tools=["gitmig", "alembic"])
    alembic = tmp_path / "alembic"
    upgrade = _run([str(BIN / "alembic"), "upgrade", "head"], alembic)
    assert upgrade.returncode == 0, upgrade.stdout + upgrade.stderr
    check = _run([str(BIN / "alembic"), "check"], alembic)
    assert check.returncode == 0, check.stdout + check.stderr
    if _gitmig(tmp_path / "gitmig", "migrate", "--help").returncode != 0:
        pytest.skip("gitmig migrate is not available yet")
    migrate = _gitmig(tmp_path / "gitmig", "migrate")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    a = schemas.reflect(f"sqlite:///{alembic / 'db.sqlite3'}")
    g = schemas.reflect(f"sqlite:///{tmp_path / 'gitmig' / 'db.sqlite3'}")
    assert a, "alembic made no tables"
    assert schemas.differences(g, a, "gitmig", "alembic") == []
