"""gitmig drift"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.actions.drift import DriftReport

STYLES = {"+": "green", "-": "red", "~": "yellow"}
NO_DRIFT = "No drift: the database is what its applied migrations make."


@click.command("drift")
@click.option("--database", metavar="URL",
              help="Database URL (default: GITMIG_DATABASE_URL, then [tool.gitmig] database).")
@click.option("--scratch-url", metavar="URL",
              help="An empty database of the same kind to run the migrations into "
                   "(default: a temporary one gitmig creates and drops).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def command(database: str | None, scratch_url: str | None, as_json: bool,
            config_path: str | None) -> None:
    """Compare the database with what its applied migrations make.

    The applied migrations are run into a scratch database of the same kind, and the two
    catalogs are compared. Each difference is printed as the change made to the database
    beyond the migrations (+ it has something more, - it lacks something, ~ it has it
    otherwise). Tables in no app are listed apart as unmanaged. Exit status 1 on drift.
    """
    from gitmig.actions.drift import drift

    report = drift(load(config_path), database, scratch_url)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        from gitmig import console

        console.say(f"Database: {report.database}")
        print_report(report)
    if report.drifted:
        raise click.exceptions.Exit(1)


def print_report(report: DriftReport, indent: str = "") -> None:
    """The differences, the unmanaged tables and what could not be replayed."""
    from gitmig import console

    if report.not_replayed:
        names = ", ".join(f"{a}.{n}" for a, n in report.not_replayed)
        console.warn(f"applied migrations without a file here were not replayed: {names}")
    if report.drifted:
        n = report.applied
        console.say(f"{indent}Drift: the database differs from what its {n} applied "
                    f"migration{'s make' if n != 1 else ' makes'} (each line is the change made "
                    "beyond them; put it in a migration or undo it):", style="bold")
        for d in report.differences:
            console.say(f"{indent}  {d.line()}", style=STYLES.get(d.sign))
    else:
        console.say(f"{indent}{NO_DRIFT}", style="green")
    if report.unmanaged:
        console.say(f"{indent}Unmanaged tables (in no app; [tool.gitmig] ignore_tables "
                    "hides them):", style="bold")
        for name in report.unmanaged:
            console.say(f"{indent}  {name}")
