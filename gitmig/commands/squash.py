"""gitmig squash"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load


@click.command("squash")
@click.argument("app")
@click.argument("bounds", nargs=-1, metavar="[FROM] TO")
@click.option("-n", "--name", help="Name of the squashed migration (after its number).")
@click.option("--keep-data-migrations", is_flag=True,
              help="Copy RunPython/RunSQL operations into the squash, in order, instead of "
                   "stopping at them.")
@click.option("--finish", is_flag=True,
              help="Remove the migrations the app's squashes replace, once every database "
                   "has the squash.")
@click.option("--database", "databases", metavar="URL", multiple=True,
              help="With --finish: the databases to check (default: the configured one); "
                   "give it once per database.")
@config_option
def command(
    app: str,
    bounds: tuple[str, ...],
    name: str | None,
    keep_data_migrations: bool,
    finish: bool,
    databases: tuple[str, ...],
    config_path: str | None,
) -> None:
    """Write one migration of APP that replaces its migrations FROM..TO (default: from the
    first), its operations folded into fewer; `--finish` removes the originals later."""
    from gitmig import console
    from gitmig.actions import squash as action
    from gitmig.errors import GitmigError
    from gitmig.git.project import shown_path

    config = load(config_path)
    if finish:
        if bounds or name or keep_data_migrations:
            raise GitmigError("--finish takes only APP (and --database)")
        done = action.finish(config, app, list(databases))
        for path in done.removed:
            console.say(f"Removed {shown_path(path)}")
        console.say(f"{', '.join(done.squashes)} no longer replaces anything; checked "
                     f"{', '.join(done.databases)}")
        return
    if databases:
        raise GitmigError("--database goes with --finish only")
    if not bounds or len(bounds) > 2:
        raise GitmigError("give TO, or FROM and TO: `gitmig squash APP [FROM] TO`")
    start, end = (None, bounds[0]) if len(bounds) == 1 else bounds
    outcome = action.squash(config, action.Options(app, start, end, name,
                                                   keep_data_migrations))
    console.say(f"Wrote {shown_path(outcome.path)}: replaces {len(outcome.replaced)} "
                 f"migrations ({outcome.replaced[0]} to {outcome.replaced[-1]}), "
                 f"{outcome.original_count} operations folded into "
                 f"{len(outcome.operations)}")
    for label in outcome.repointed:
        console.say(f"Re-pointed {label} at {app}.{outcome.name}")
    for note in outcome.notes:
        console.say(note)
    for warning in outcome.warnings:
        console.warn(warning)
    console.say(f"Keep the originals until every database has migrated; then run "
                 f"`gitmig squash --finish {app}`")
