"""The README's second quick-start block: examples/shop/demo.sh turns a model change into a
migration (makemigrations, sqlmigrate, migrate) and puts the example back afterwards."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Project

ROOT = Path(__file__).resolve().parent.parent


def files(root: Path) -> dict[str, bytes]:
    return Project(root).snapshot()


@pytest.mark.slow
def test_the_demo_shows_a_migration_made_and_applied_and_resets_the_example(
        tmp_path: Path) -> None:
    example = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", example,
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    before = files(example)
    env = {k: v for k, v in os.environ.items() if k != "GITMIG_DATABASE_URL"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    run = subprocess.run(["bash", str(example / "demo.sh")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert "$ gitmig makemigrations\nMigrations for 'shop':\n" \
           "  shop/migrations/0002_product_add_stock.py\n" \
           "    + Add column stock to product\n" in out
    assert "ALTER TABLE product ADD COLUMN stock INTEGER DEFAULT 0 NOT NULL;" in out
    assert "Applying shop.0002_product_add_stock... OK" in out
    assert " [X] 0002_product_add_stock\n" in out
    assert out.endswith("(the example is back as it was)\n")
    assert files(example) == before


@pytest.mark.slow
def test_a_failing_step_still_resets_the_example(tmp_path: Path) -> None:
    example = tmp_path / "shop"
    shutil.copytree(ROOT / "examples" / "shop", example,
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    before = files(example)
    env = dict(os.environ, PATH="/usr/bin:/bin")  # no gitmig on PATH: the first step fails
    run = subprocess.run(["bash", str(example / "demo.sh")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert "(the example is back as it was)" in run.stdout
    assert files(example) == before
