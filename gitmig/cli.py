"""The `gitmig` command: parse, call one function, print.

Subcommands are imported only when invoked, so `gitmig --help` and the hooks' fast
path do not pay for SQLAlchemy. Every failure ends as one line on stderr:
exit 2 for bad input, 1 for a failed check.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import click

from gitmig import __version__

COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("gitmig.commands.init", "Write [tool.gitmig] and create migrations folders."),
    "makemigrations": (
        "gitmig.commands.makemigrations",
        "Write new migrations for model changes.",
    ),
    "migrate": ("gitmig.commands.migrate", "Apply or unapply migrations on the database."),
    "showmigrations": (
        "gitmig.commands.showmigrations",
        "List migrations and whether each is applied.",
    ),
    "sqlmigrate": ("gitmig.commands.sqlmigrate", "Print the SQL of one migration."),
    "diff": (
        "gitmig.commands.diff",
        "Show the schema change between two revisions' models.",
    ),
    "conflicts": (
        "gitmig.commands.conflicts",
        "List migrations that conflict now or will after a merge.",
    ),
    "resolve": (
        "gitmig.commands.resolve",
        "Untangle an app's conflicting migrations after a merge or rebase.",
    ),
    "hooks": ("gitmig.commands.hooks", "Install, remove or run gitmig's git hooks."),
    "status": (
        "gitmig.commands.status",
        "Say what needs doing: model changes, migrations, the database.",
    ),
    "graph": ("gitmig.commands.graph", "Draw the migration graph: apps' lanes, branches, [X]."),
    "erd": ("gitmig.commands.erd", "Draw a revision's schema as an entity-relationship diagram."),
    "squash": (
        "gitmig.commands.squash",
        "Fold a stretch of an app's migrations into one that replaces them.",
    ),
    "test": (
        "gitmig.commands.test",
        "Apply, unapply and reapply every migration on a throwaway database.",
    ),
    "lint": (
        "gitmig.commands.lint",
        "Say what new migrations would do to production, and the safe way.",
    ),
    "drift": (
        "gitmig.commands.drift",
        "Compare the database with what its applied migrations make.",
    ),
    "adopt": (
        "gitmig.commands.adopt",
        "Take over a project that uses Alembic, or no tool, and its databases.",
    ),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n, (mod, _) in COMMANDS.items() if importlib.util.find_spec(mod)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        entry = COMMANDS.get(name)
        if entry is None:
            return None
        try:
            module = importlib.import_module(entry[0])
        except ModuleNotFoundError:
            return None
        command: click.Command = module.command
        accept_no_input(command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(n, COMMANDS[n][1]) for n in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


NO_INPUT = "--no-input"


def accept_no_input(command: click.Command) -> None:
    """Every command (and sub-command) takes `--no-input`, so CI scripts can pass it
    everywhere, as Django's commands take --noinput; where a command asks nothing it is a
    no-op. Added here, where commands are loaded, so a new command has it without asking."""
    if not any(NO_INPUT in getattr(p, "opts", ()) for p in command.params):
        command.params.append(click.Option(
            [NO_INPUT], is_flag=True, expose_value=False,
            help="Never ask (this command asks nothing; accepted so scripts can always pass it).",
        ))
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            accept_no_input(sub)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gitmig")
@click.option(
    "--config",
    "config_path",
    metavar="PATH",
    envvar="GITMIG_CONFIG",
    help="pyproject.toml to read [tool.gitmig] from (default: nearest one upwards).",
)
@click.pass_context
def group(ctx: click.Context, config_path: str | None) -> None:
    """Django-style migrations for SQLAlchemy models, built on git."""
    ctx.obj = {"config_path": config_path}


def main(argv: list[str] | None = None) -> None:
    _WHOLE_PROCESS.append(True)
    sys.exit(run(argv))


_WHOLE_PROCESS: list[bool] = []  # run() is this process's command, not a test's call


def _stopping() -> None:
    """Once "aborted" is said, another Ctrl-C (a user pressing again and again) must not
    kill the process by the signal on its way out: the exit code stays 130."""
    if _WHOLE_PROCESS:
        import signal

        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run(argv: list[str] | None = None) -> int:
    from gitmig.errors import GitmigError

    try:
        result: Any = group.main(args=argv, prog_name="gitmig", standalone_mode=False)
    except GitmigError as exc:
        prefix = "gitmig: error: " if exc.exit_code == 2 else "gitmig: "
        click.echo(f"{prefix}{exc.headline()}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        _stopping()
        click.echo("gitmig: aborted", err=True)
        return 130
    except click.UsageError as exc:
        hint = ""
        if exc.ctx is not None:
            hint = f" (see `{exc.ctx.command_path} --help`)"
        click.echo(f"gitmig: error: {exc.format_message()}{hint}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"gitmig: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        _stopping()
        click.echo("gitmig: interrupted", err=True)
        return 130
    return result if isinstance(result, int) else 0
