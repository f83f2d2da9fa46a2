"""gitmig showmigrations: its options; what it prints is gitmig.commands.showview's."""

from __future__ import annotations

from typing import Any

import click

from gitmig.commands.common import config_option, load


@click.command("showmigrations")
@click.argument("apps", nargs=-1, metavar="[APP]...")
@click.option("--plan", "as_plan", is_flag=True,
              help="One list in the order migrate applies them, with each one's parents.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--database", metavar="URL",
              help="Database URL (default: GITMIG_DATABASE_URL, then [tool.gitmig] database).")
@click.option("--fleet", metavar="NAME",
              help="A matrix of the fleet's targets by app: latest applied, pending, failed.")
@click.option("--shard", metavar="I/N", help="With --fleet: only shard I of N.")
@click.option("--drift", is_flag=True,
              help="With --fleet: a drift column too (reads every target's catalog).")
@config_option
def command(
    apps: tuple[str, ...],
    as_plan: bool,
    as_json: bool,
    database: str | None,
    fleet: str | None,
    shard: str | None,
    drift: bool,
    config_path: str | None,
) -> None:
    """List migrations and whether the database has them: [X] applied, [ ] not.

    Migrations the database has but whose files are missing (applied on another
    branch) are listed too, as are applied migrations edited since.
    """
    from gitmig.commands.showview import show

    config = load(config_path)
    labels = [a.label for a in config.select(apps)]
    if fleet is not None:
        _fleet(config, fleet, labels, shard, as_json, database, as_plan, drift)
        return
    if drift:
        from gitmig.errors import GitmigError

        raise GitmigError("--drift adds a column to the fleet's matrix; it needs --fleet NAME",
                          hint="`gitmig drift` compares one database")
    show(config, apps, as_plan, as_json, database)


def _fleet(config: Any, name: str, labels: list[str], shard: str | None, as_json: bool,
           database: str | None, as_plan: bool, drift: bool) -> None:
    from gitmig.commands import fleetview
    from gitmig.errors import GitmigError
    from gitmig.fleet.migrate import choose
    from gitmig.fleet.survey import survey
    from gitmig.migrations.loader import load_graph

    if database or as_plan:
        raise GitmigError(f"--fleet shows a matrix of targets; it takes no "
                          f"{'--database' if database else '--plan'}")
    graph = load_graph(config)
    rows = survey(config, name, choose(config, name, shard), graph, drift=drift)
    fleetview.print_matrix(name, rows, labels, as_json, drift)
