"""`gitmig makemigrations --check` answered by the entry point before click is imported
(gitmig.entry) says exactly what the full command says, and leaves every other case to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import BASE, Project

POST = BASE + """

class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(80))
"""

# The full command, through click, as the console script ran it before gitmig.entry.
FULL = "import sys; from gitmig.cli import main; sys.argv[0] = 'gitmig'; main()"


@pytest.fixture
def synced(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(tmp_path / "cache"))
    project.write("blog/models.py", POST)
    assert project.gitmig("makemigrations").exit_code == 0
    return project


def run(project: Project, *command: str, cwd: Path | None = None,
        env: dict[str, str] | None = None) -> tuple[int, str, str]:
    import os

    proc = subprocess.run([sys.executable, *command], cwd=cwd or project.root,
                          env={**os.environ, **(env or {})}, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def both(project: Project, *args: str, cwd: Path | None = None,
         env: dict[str, str] | None = None) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """(the entry point's answer, the full command's answer)."""
    return (run(project, "-m", "gitmig", *args, cwd=cwd, env=env),
            run(project, "-c", FULL, *args, cwd=cwd, env=env))


def test_an_answer_from_the_cache_is_the_full_commands_and_needs_no_click(
    synced: Project,
) -> None:
    assert both(synced, "makemigrations", "--check") == ((0, "No changes detected.\n", ""),) * 2
    code, _, log = run(synced, "-X", "importtime", "-m", "gitmig", "makemigrations", "--check")
    assert code == 0
    imported = {line.rsplit("|", 1)[1].strip() for line in log.splitlines() if "|" in line}
    assert "gitmig.migrations.insync" in imported
    assert not {"click", "gitmig.cli", "sqlalchemy"} & imported


def test_a_model_change_is_left_to_the_full_command(synced: Project) -> None:
    synced.write("blog/models.py", POST.replace("String(80)", "String(90)"))
    entry, full = both(synced, "makemigrations", "--check")
    assert entry == full
    assert entry[0] == 1
    assert "Alter column post.title" in entry[1]


def test_a_cold_cache_and_a_damaged_one_give_the_same_answer(
    synced: Project, tmp_path: Path
) -> None:
    for path in (tmp_path / "cache").iterdir():
        path.write_bytes(path.read_bytes()[:10])
    assert both(synced, "makemigrations", "--check") == ((0, "No changes detected.\n", ""),) * 2


def test_the_config_from_the_environment_and_a_bad_one(synced: Project, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {"GITMIG_CONFIG": str(synced.root / "pyproject.toml")}
    entry, full = both(synced, "makemigrations", "--check", cwd=elsewhere, env=env)
    assert entry == full == (0, "No changes detected.\n", "")
    synced.write("pyproject.toml", "[tool.gitmig\n")
    entry, full = both(synced, "makemigrations", "--check")
    assert entry == full
    assert entry[0] == 2


def test_other_command_lines_go_to_the_full_command(synced: Project) -> None:
    for args in (["makemigrations", "--check", "-v", "0"], ["makemigrations", "--check", "blog"]):
        entry, full = both(synced, *args)
        assert entry == full
        assert entry[0] == 0
