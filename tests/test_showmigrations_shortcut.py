"""`gitmig showmigrations` answered by the entry point before click is imported
(gitmig.entry, gitmig.commands.showview) prints exactly what the full command prints,
on every case, and leaves every other command line to it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from gitmig.commands import showview

from .conftest import Project
from .gitrepo import make_repo
from .test_branch_switch import feature_branch
from .test_migrate import migrate, two_migrations
from .test_showmigrations import two_apps
from .test_squash import history

# The full command, through click, as the console script ran it before gitmig.entry.
FULL = "import sys; from gitmig.cli import main; sys.argv[0] = 'gitmig'; main()"

Answer = tuple[int, str, str]


def run(cwd: Path, *command: str, env: dict[str, str] | None = None,
        stdout: int | None = subprocess.PIPE) -> Answer:
    proc = subprocess.run([sys.executable, *command], cwd=cwd, stdout=stdout,
                          stderr=subprocess.PIPE, env={**os.environ, **(env or {})},
                          text=True, timeout=120)
    return proc.returncode, proc.stdout or "", proc.stderr


def both(cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[Answer, Answer]:
    """(the entry point's answer, the full command's answer)."""
    return (run(cwd, "-m", "gitmig", "showmigrations", *args, env=env),
            run(cwd, "-c", FULL, "showmigrations", *args, env=env))


def same(cwd: Path, *args: str, env: dict[str, str] | None = None) -> Answer:
    entry, full = both(cwd, *args, env=env)
    assert entry == full, args
    return entry


def imported(cwd: Path, *args: str) -> set[str]:
    code, _, log = run(cwd, "-X", "importtime", "-m", "gitmig", "showmigrations", *args)
    assert code == 0, log
    return {line.rsplit("|", 1)[1].strip() for line in log.splitlines() if "|" in line}


ARGS = [(), ("--plan",), ("--json",), ("--plan", "--json"), ("shop",), ("shop", "blog"),
        ("blog", "--json", "blog"), ("--plan", "shop")]


@pytest.mark.parametrize("args", ARGS)
def test_each_everyday_command_line_prints_what_the_full_command_prints(
    project: Project, args: tuple[str, ...]
) -> None:
    two_apps(project)
    migrate(project, f"sqlite:///{project.root / 'db.sqlite3'}", "blog", "0001")

    code, out, err = same(project.root, *args)

    assert (code, err) == (0, "")
    if not args:
        assert out.splitlines() == ["blog", " [X] 0001_initial", " [ ] 0002_post_add_slug",
                                    "shop", " [ ] 0001_initial"]


def test_the_shortcut_imports_no_click(project: Project) -> None:
    two_migrations(project)

    names = imported(project.root, "--plan")

    assert "gitmig.commands.showview" in names
    assert not {"click", "gitmig.cli", "sqlalchemy", "rich", "pygit2"} & names


def test_the_database_from_an_option_or_the_environment(project: Project,
                                                       database_url: str) -> None:
    two_apps(project)
    migrate(project, database_url, "blog", "0001")

    listing = same(project.root, "--database", database_url)
    assert listing[0] == 0 and " [X] 0001_initial" in listing[1]
    assert same(project.root, f"--database={database_url}", "--json") == same(
        project.root, "--json", env={"GITMIG_DATABASE_URL": database_url})
    assert same(project.root, "--plan", "--database", "sqlite:///other.sqlite3",
                "--database", database_url)[1] == same(project.root, "--plan", "--database",
                                                       database_url)[1]


def test_edited_and_missing_files(project: Project) -> None:
    two_migrations(project)
    migrate(project, f"sqlite:///{project.root / 'db.sqlite3'}")
    (project.root / "blog/migrations/0002_post_add_slug.py").unlink()
    path = "blog/migrations/0001_initial.py"
    project.write(path, project.read(path).replace("length=200", "length=300"))

    for args in ARGS[:4]:
        code, out, _ = same(project.root, *args)
        assert code == 0
    assert same(project.root)[1].splitlines() == [
        "blog",
        " [X] 0001_initial  (edited after it was applied)",
        " [X] 0002_post_add_slug  (applied, but its file is missing)",
    ]


def test_a_migration_applied_on_another_branch_is_found_in_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "proj", tmp_path / "home")
    name = feature_branch(repo)
    repo.git("checkout", "-q", "main")

    for args in ARGS[:4]:
        same(repo.root, *args, env={"HOME": str(repo.home)})
    out = same(repo.root)[1]
    assert f" [X] {name}  (applied, but its file is missing; file in git: " in out


def test_squashed_migrations_and_two_leaves(project: Project) -> None:
    history(project)
    migrate(project, f"sqlite:///{project.root / 'db.sqlite3'}", "blog", "0003")
    assert project.gitmig("squash", "blog", "0003").exit_code == 0
    squashed = same(project.root)[1]
    assert "squashed_0003" in squashed.splitlines()[1]
    for args in ARGS[:4]:
        same(project.root, *args)

    folder = project.root / "blog/migrations"
    (fourth,) = folder.glob("0004_*.py")
    (folder / "0004_post_other.py").write_text(fourth.read_text().replace(
        "ix_post_slug", "ix_post_other"))
    for args in ARGS[:4]:
        same(project.root, *args)


def test_refusals_are_the_full_commands(project: Project, tmp_path: Path) -> None:
    two_migrations(project)
    migrate(project, f"sqlite:///{project.root / 'db.sqlite3'}")

    code, out, err = same(project.root, "shop")
    assert (code, out) == (2, "") and err.startswith("gitmig: error: unknown app 'shop'")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert same(elsewhere)[0] == 2
    config = {"GITMIG_CONFIG": str(project.root / "pyproject.toml")}
    assert same(elsewhere, env=config)[0] == 0
    assert same(project.root, "--database", f"sqlite:///{elsewhere}")[0] == 2  # a folder
    (project.root / "not.sqlite3").write_bytes(b"not a database" * 100)
    assert same(project.root, "--database", "sqlite:///not.sqlite3")[0] == 2
    project.write("pyproject.toml", "[tool.gitmig\n")
    assert same(project.root)[0] == 2


@pytest.mark.parametrize("args", [("--help",), ("--no-input",), ("--database",),
                                  ("--database", "--plan"), ("--database=",), ("--",),
                                  ("--drift",), ("--fleet", "prod"), ("-x",), ("--jsn",),
                                  ("--config", "pyproject.toml")])
def test_other_command_lines_go_to_the_full_command(project: Project,
                                                    args: tuple[str, ...]) -> None:
    two_migrations(project)
    entry, full = both(project.root, *args)
    assert entry == full
    assert showview.main(list(args)) is None


def test_an_interrupted_change_is_left_to_the_full_command(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    two_migrations(project)
    subprocess.run(["git", "init", "-q", str(project.root)], check=True)
    journal = project.root / ".git/gitmig/journal"
    journal.parent.mkdir(parents=True)
    journal.write_text("{}")
    monkeypatch.chdir(project.root)

    assert showview.main([]) is None


@pytest.mark.parametrize("args", [(), ("--json",)])
def test_a_closed_pipe_ends_as_it_does_after_click(project: Project,
                                                   args: tuple[str, ...]) -> None:
    two_migrations(project)
    answers = []
    for command in (["-m", "gitmig"], ["-c", FULL]):
        read, write = os.pipe()
        os.close(read)
        try:
            answers.append(run(project.root, *command, "showmigrations", *args, stdout=write))
        finally:
            os.close(write)
    assert answers[0] == answers[1]
    assert answers[0][0] != 0
