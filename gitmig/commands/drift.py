"""gitmig drift"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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
@click.option("--fleet", metavar="NAME",
              help="The drift of every database or schema of [tool.gitmig.fleets.NAME].")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="With --fleet: targets read at once, each in its own process.")
@click.option("--shard", metavar="I/N",
              help="With --fleet: only shard I of N (1-based), a stable slice of the fleet.")
@config_option
def command(database: str | None, scratch_url: str | None, as_json: bool,
            fleet: str | None, jobs: int, shard: str | None,
            config_path: str | None) -> None:
    """Compare the database with what its applied migrations make.

    The applied migrations are run into a scratch database of the same kind, and the two
    catalogs are compared. Each difference is printed as the change made to the database
    beyond the migrations (+ it has something more, - it lacks something, ~ it has it
    otherwise). Tables in no app are listed apart as unmanaged. Exit status 1 on drift.

    With --fleet, every target of the fleet: one scratch database per server and set of
    applied migrations, a section per target that drifted, exit status 1 when any did
    (or could not be read).
    """
    from gitmig.actions.drift import drift

    if fleet is not None:
        from gitmig.errors import GitmigError

        if database or scratch_url:
            raise GitmigError("--fleet compares the fleet's own databases; it takes no "
                              f"{'--database' if database else '--scratch-url'}")
        _fleet(load(config_path), fleet, jobs, shard, as_json)
        return
    if jobs != 1 or shard is not None:
        from gitmig.errors import GitmigError

        raise GitmigError("--jobs and --shard spread a fleet's targets; they need --fleet NAME")
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


def _fleet(config: Any, name: str, jobs: int, shard: str | None, as_json: bool) -> None:
    from gitmig import console
    from gitmig.errors import CheckFailed
    from gitmig.fleet.drift import drift_fleet

    result = drift_fleet(config, name, jobs=jobs, shard_text=shard)
    total = len(result.results)
    if as_json:
        click.echo(json.dumps({
            "fleet": name, "targets": [r.as_json() for r in result.results],
            "drifted": len(result.drifted), "unreachable": len(result.unreachable),
            "scratch_databases_built": result.scratch_built}, indent=2))
    else:
        built = result.scratch_built
        console.say(f"Fleet {name}: {total} target{_s(total)}, {len(result.drifted)} drifted, "
                    f"{len(result.unreachable)} unreachable; {built} scratch database"
                    f"{_s(built)} run", style="bold")
        for r in result.drifted:
            assert r.report is not None
            console.say(f"{r.target.label}:", style="bold")
            print_report(r.report, indent="  ")
        for r in result.results:
            if r.report is not None and not r.drifted and r.report.unmanaged:
                console.say(f"{r.target.label}: no drift; unmanaged tables: "
                            f"{', '.join(r.report.unmanaged)}")
        for r in result.unreachable:
            console.say(f"{r.target.label}: unreachable: {r.error}", style="red")
        if not result.drifted and not result.unreachable:
            console.say("No drift: every target is what its applied migrations make.",
                        style="green")
    if result.drifted or result.unreachable:
        parts = [f"{len(result.drifted)} drifted"] if result.drifted else []
        if result.unreachable:
            parts.append(f"{len(result.unreachable)} could not be read")
        raise CheckFailed(f"{' and '.join(parts)} of {total} target{_s(total)} of fleet "
                          f"{name}", hint="put each change listed in a migration, or undo "
                          "it in that database; `gitmig drift --database URL` shows one")


def _s(n: int) -> str:
    return "" if n == 1 else "s"
