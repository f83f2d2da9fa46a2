"""gitmig adopt"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load


@click.command("adopt")
@click.option("--database", "databases", metavar="URL", multiple=True,
              help="A database to take over (repeatable; default: GITMIG_DATABASE_URL, "
                   "then [tool.gitmig] database).")
@click.option("--retire-alembic", is_flag=True,
              help="Drop alembic_version from each database adopted (Alembic's files are "
                   "left for you to delete).")
@click.option("--scratch-url", metavar="URL",
              help="An empty database of the same kind to run the migrations into "
                   "(default: a temporary one gitmig creates and drops).")
@config_option
def command(databases: tuple[str, ...], retire_alembic: bool, scratch_url: str | None,
            config_path: str | None) -> None:
    """Take over a project that uses Alembic, or no migration tool.

    Writes each app's initial migrations from the models as they are, then, for each
    database, records them as applied only after proving that its schema is what they
    make (the migrations are run into a scratch database and the catalogs compared). A
    database whose alembic_version is not at the Alembic head is refused. Alembic's
    files and alembic_version are left alone unless --retire-alembic is given.
    """
    from gitmig import console
    from gitmig.actions.adopt import Options, adopt

    config = load(config_path)
    outcome = adopt(config, Options(databases, retire_alembic, scratch_url))
    if outcome.alembic is not None:
        console.say(f"Alembic project: {outcome.alembic.describe(config.root)}")
    else:
        console.say("No Alembic project found: adopting the database as it is.")
    for path in outcome.written:
        console.say(f"Wrote {path.relative_to(config.root)}", style="green")
    for db in outcome.databases:
        if db.already:
            console.say(f"{db.url}: already records every migration; nothing to do.")
            continue
        names = ", ".join(f"{a}.{n}" for a, n in db.recorded)
        console.say(f"{db.url}: its schema is what the migrations make; recorded as "
                    f"applied: {names}", style="green")
        if db.unmanaged:
            console.say(f"  Unmanaged tables (in no app, left alone): "
                        f"{', '.join(db.unmanaged)}")
        if db.retired:
            console.say("  Dropped alembic_version.")
    if outcome.alembic is not None:
        folders = ", ".join(str(v.relative_to(config.root)) if v.is_relative_to(config.root)
                            else str(v) for v in outcome.alembic.versions)
        if retire_alembic:
            console.say(f"Alembic is retired: delete its files yourself when ready "
                        f"({folders}, {outcome.alembic.config_file.name} and env.py); "
                        "from now on run `gitmig makemigrations` and `gitmig migrate`.")
        else:
            console.say(f"Alembic's files ({folders}) and alembic_version are left as they "
                        "are; `gitmig adopt --retire-alembic` drops alembic_version once "
                        "you are done with Alembic.")
