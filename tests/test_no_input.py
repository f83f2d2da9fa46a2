"""`--no-input` is accepted by every command, so a CI script can pass it everywhere.

The option is added where the CLI loads a command (gitmig/cli.py), so the walk below covers
every command in the table, each sub-command of a group, and a command registered later.
"""

from __future__ import annotations

import click
import pytest

from gitmig import cli

from .conftest import Project, Result


def command_paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    ctx = click.Context(cli.group)
    for name in cli.group.list_commands(ctx):
        command = cli.group.get_command(ctx, name)
        assert command is not None, name
        paths.append((name,))
        if isinstance(command, click.Group):
            paths += [(name, sub) for sub in command.commands]
    return paths


def test_the_walk_finds_every_command() -> None:
    paths = command_paths()
    assert {p[0] for p in paths} == set(cli.COMMANDS)
    assert ("hooks", "install") in paths


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_accepts_no_input(project: Project, path: tuple[str, ...]) -> None:
    result = project.gitmig(*path, "--no-input", "--help")
    assert result.exit_code == 0, result.output
    options = [line for line in result.stdout.splitlines()
               if line.lstrip().startswith("--no-input")]
    assert len(options) == 1, result.stdout  # listed, and never added twice


def ok(project: Project, *args: str) -> Result:
    result = project.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result


def test_where_nothing_is_asked_it_changes_nothing(project: Project) -> None:
    project.write("blog/models.py", project.read("blog/models.py") + """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
""")
    ok(project, "makemigrations", "--no-input")
    assert ok(project, "showmigrations", "--no-input").stdout == \
        ok(project, "showmigrations").stdout == "blog\n [ ] 0001_initial\n"
    assert ok(project, "graph", "--no-input").stdout == "*  [ ] blog.0001_initial\n"


@click.command("probe")
def command() -> None:
    """A command added later, without --no-input of its own."""
    click.echo("probed")


def test_a_command_added_later_gets_it(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli.COMMANDS, "probe", (__name__, "A later command."))
    assert ok(project, "probe", "--no-input").stdout == "probed\n"
