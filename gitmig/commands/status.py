"""gitmig status"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gitmig import hints
from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.actions.status import Report
    from gitmig.config import Config
    from gitmig.ops import Operation

STYLES = {"+": "green", "-": "red", "~": "yellow"}


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--database", metavar="URL",
              help="Database URL (default: GITMIG_DATABASE_URL, then [tool.gitmig] database).")
@click.option("--fleet", metavar="NAME",
              help="One-screen summary of [tool.gitmig.fleets.NAME]'s targets.")
@click.option("--drift", is_flag=True,
              help="With --fleet: count the drifted targets too (reads every target's catalog).")
@config_option
def command(as_json: bool, database: str | None, fleet: str | None, drift: bool,
            config_path: str | None) -> None:
    """Say what needs doing: model changes without migrations (in the working tree and
    staged), unapplied migrations, migrations applied to the database that this branch
    lacks, conflicts, applied migrations edited since, and drift (the database against
    what its applied migrations make, with the tables no app manages).

    Exit status 1 when anything needs doing (a database that cannot be read included),
    0 when models, migrations and the database agree.
    """
    from gitmig.actions.status import CLEAN, status

    if fleet is not None:
        _fleet(load(config_path), fleet, as_json, database, drift)
        return
    if drift:
        from gitmig.errors import GitmigError

        raise GitmigError("--drift counts a fleet's drifted targets; it needs --fleet NAME",
                          hint="`gitmig status` checks one database's drift already")
    report = status(load(config_path), database)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        _print(report)
        if report.clean:
            from gitmig import console

            console.say()
            console.say(CLEAN, style="green")
    if not report.clean:
        raise click.exceptions.Exit(1)  # the report says what; no error line to add


def _print(report: Report) -> None:
    from gitmig import console

    def section(title: str, hint: str) -> None:
        console.say()
        console.say(f"{title} ({hint}):", style="bold")

    if report.branch is not None:
        console.say(f"On branch {report.branch}")
    if report.database_error:
        console.say(f"Database: {report.database or '(none)'}: cannot be read: "
                    f"{report.database_error}", style="red")
    else:
        console.say(f"Database: {report.database}")
    for line in report.problems:
        console.say(f"Problem: {line}", style="red")

    if report.changes:
        section("Model changes without a migration", hints.MAKEMIGRATIONS_ANY)
        _operations(report.changes)
    if report.staged:
        section("Staged model changes without a staged migration",
                "run `gitmig makemigrations --staged`, then `git add` the new file")
        _operations(report.staged)
    if report.unapplied:
        section("Migrations not applied to the database", hints.MIGRATE)
        for key in report.unapplied:
            console.say(f"  {key[0]}.{key[1]}")
    if report.missing:
        section("Applied to the database, but missing from this branch",
                "unapply them before migrating this branch")
        for m in report.missing:
            notes = [n for n in (m.where(), f"`{m.command}`" if m.command else None) if n]
            console.say(f"  {m.label}" + (f"  ({'; '.join(notes)})" if notes else ""),
                        style="yellow")
    if report.conflicts:
        section("Conflicting migrations, several are latest",
                hints.RESOLVE.format(app="APP"))
        for app, names in report.conflicts.items():
            console.say(f"  {app}: {', '.join(names)}", style="yellow")
    if report.edited:
        section("Applied migrations edited since",
                "undo the edit and put the change in a new migration")
        for key in report.edited:
            console.say(f"  {key[0]}.{key[1]}", style="yellow")
    if report.drift:
        section("Drift: the database differs from what its applied migrations make",
                "put each change in a migration or undo it; `gitmig drift` for details")
        for d in report.drift:
            console.say(f"  {d.line()}", style=STYLES.get(d.sign))
    if report.drift_error:
        console.say(f"Drift not checked: {report.drift_error}", style="yellow")
    if report.unmanaged:
        section("Unmanaged tables, in no app", "[tool.gitmig] ignore_tables hides them")
        for name in report.unmanaged:
            console.say(f"  {name}")


def _operations(changes: dict[str, list[Operation]]) -> None:
    from gitmig import console
    from gitmig.actions.diff import kind_of

    for app, operations in changes.items():
        console.say(f"  {app}")
        for op in operations:
            kind = kind_of(op)
            console.say(f"    {kind} {op.describe()}", style=STYLES[kind])


def _fleet(config: Config, name: str, as_json: bool, database: str | None,
           drift: bool) -> None:
    from gitmig.commands import fleetview
    from gitmig.errors import GitmigError
    from gitmig.fleet.migrate import choose
    from gitmig.fleet.survey import survey
    from gitmig.migrations.loader import load_graph

    if database:
        raise GitmigError("--fleet and --database name different databases; give one")
    rows = survey(config, name, choose(config, name, None), load_graph(config), drift=drift)
    fleetview.print_status(name, rows, as_json, drift)
