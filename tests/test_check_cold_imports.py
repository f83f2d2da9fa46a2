"""A first `makemigrations --check` (no cache) on a SQLite project loads no database
dialect: whether a type has a project's @compiles hook is asked by dialect name
(gitmig.schema.typehooks.hook_named), and SQLite's name length needs no dialect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .gitrepo import Repo


def test_first_check_on_sqlite_loads_no_dialect(repo: Repo, tmp_path: Path) -> None:
    # An edit that needs no migration: the lock file's record (gitmig.migrations.syncrecord)
    # no longer answers, and the models are imported.
    repo.write("blog/models.py", repo.read("blog/models.py") + "# a comment\n")
    env = {**repo.env(), "GITMIG_CACHE_DIR": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", "makemigrations",
                        "--check"], cwd=repo.root, env=env, capture_output=True, text=True)
    imported = {line.rpartition("|")[2].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    assert r.returncode == 0, r.stderr
    assert r.stdout == repo.gitmig("makemigrations", "--check").stdout
    assert "sqlalchemy" in imported  # the models were read
    dialects = {"sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql",
                "sqlalchemy.dialects.mysql"}
    assert not imported & dialects, sorted(imported & dialects)
