"""gitmig erd"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load

FORMATS = ("text", "mermaid", "dot")


@click.command("erd")
@click.argument("args", nargs=-1, metavar="[REV] [APP]...")
@click.option("--migrations", is_flag=True,
              help="Draw the schema the migrations replay to, not the models'.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: boxes in the terminal; mermaid: an erDiagram; dot: for "
                   "`dot -Tsvg`.")
@config_option
def command(args: tuple[str, ...], migrations: bool, fmt: str, config_path: str | None) -> None:
    """Draw the schema as an entity-relationship diagram: tables, columns, foreign keys.

    \b
    gitmig erd                       the models in the working tree
    gitmig erd v1.3                  the models at a revision (tag, branch, commit)
    gitmig erd HEAD shop             one app's tables
    gitmig erd --migrations          the schema the migrations replay to
    gitmig erd --format dot | dot -Tsvg > schema.svg

    The first argument is a revision when it is not a configured app. Another
    revision's models are imported in a child process from that revision's files.
    """
    config = load(config_path)
    rev: str | None = None
    apps = args
    if args and args[0] not in config.apps:
        rev, apps = args[0], args[1:]
    from gitmig.actions.erd import schema

    drawn = schema(config, rev, apps, migrations)
    show(drawn.diagram, fmt, f"No tables in {drawn.label}.")


def show(diagram: object, fmt: str, empty: str) -> None:
    """Print a diagram in the asked format (also `gitmig diff --erd`)."""
    from gitmig import console
    from gitmig.schema import erdformats
    from gitmig.schema.erd import Diagram

    assert isinstance(diagram, Diagram)
    if fmt == "mermaid":
        click.echo(erdformats.mermaid(diagram), nl=False)
    elif fmt == "dot":
        click.echo(erdformats.dot(diagram), nl=False)
    elif not diagram.entities:
        console.say(empty)
    else:
        console.say_lines(erdformats.text(diagram))
