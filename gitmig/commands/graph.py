"""gitmig graph"""

from __future__ import annotations

import json

import click

from gitmig.commands.common import config_option, load

FORMATS = ("text", "mermaid", "dot")


@click.command("graph")
@click.argument("apps", nargs=-1, metavar="[APP]...")
@click.option("--against", "refs", multiple=True, metavar="REF",
              help="Also draw the migrations REF adds since its merge base with this "
                   "branch, on lanes of their own (repeatable).")
@click.option("--all-branches", is_flag=True,
              help="Also draw what every other local and remote-tracking branch adds.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: lanes in the terminal; mermaid or dot: the graph for a pull "
                   "request or a wiki (`dot -Tsvg` renders dot).")
@click.option("--json", "as_json", is_flag=True, help="Print the migrations as JSON.")
@click.option("--database", metavar="URL",
              help="Database whose applied migrations get [X] (default: GITMIG_DATABASE_URL, "
                   "then [tool.gitmig] database).")
@click.option("--no-database", is_flag=True, help="Read no database: no [X] marks.")
@config_option
def command(
    apps: tuple[str, ...],
    refs: tuple[str, ...],
    all_branches: bool,
    fmt: str,
    as_json: bool,
    database: str | None,
    no_database: bool,
    config_path: str | None,
) -> None:
    """Draw the migration graph: one line per migration, newest first, as `git log
    --graph` draws commits.

    \b
    Each app has its own lanes; a merge migration joins two, `(after app.name)`
    names a parent in another app, [X] marks what the database has applied.
    --against REF and --all-branches add other branches' migrations on their own
    lanes, labelled with the branch: two lanes leaving one migration of an app are
    a conflict coming with the merge (see `gitmig conflicts`).
    """
    from gitmig.actions.graph import Options, graph_view

    if refs and all_branches:
        raise click.UsageError("give either --against REF or --all-branches, not both")
    if as_json and fmt != "text":
        raise click.UsageError("give either --json or --format, not both")
    config = load(config_path)
    view = graph_view(config, Options(apps, database, not no_database, refs, all_branches))
    if as_json:
        click.echo(json.dumps(view.as_json(), indent=2))
    elif fmt == "mermaid":
        from gitmig.migrations.graphformats import mermaid

        click.echo(mermaid(view), nl=False)
    elif fmt == "dot":
        from gitmig.migrations.graphformats import dot

        click.echo(dot(view), nl=False)
    else:
        from gitmig import console
        from gitmig.migrations.graphview import render

        lines = render(view)
        console.say_lines(lines if lines else [("(no migrations)", None)])
