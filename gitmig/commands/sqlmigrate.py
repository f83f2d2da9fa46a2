"""gitmig sqlmigrate"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load


@click.command("sqlmigrate")
@click.argument("app")
@click.argument("migration")
@click.option("--backwards", is_flag=True, help="The SQL that unapplies the migration.")
@click.option("--dialect", type=click.Choice(["sqlite", "postgresql", "mysql"]),
              help="Print for this database kind; no database is needed.")
@click.option("--database", metavar="URL",
              help="Database URL (default: GITMIG_DATABASE_URL, then [tool.gitmig] database).")
@click.option("--fleet", metavar="NAME",
              help="The SQL for each kind of database in [tool.gitmig.fleets.NAME], once each.")
@config_option
def command(
    app: str,
    migration: str,
    backwards: bool,
    dialect: str | None,
    database: str | None,
    fleet: str | None,
    config_path: str | None,
) -> None:
    """Print the SQL of MIGRATION (a name or a unique prefix such as 0003) of APP.

    Nothing is run. The output can be run as printed; RunPython operations appear as
    comments, since they are Python code.
    """
    from gitmig import console
    from gitmig.db.sqlrender import render_sql

    config = load(config_path)
    if fleet is not None:
        from gitmig.errors import GitmigError
        from gitmig.fleet.migrate import choose
        from gitmig.fleet.sql import by_dialect

        if dialect or database:
            raise GitmigError("--fleet prints the SQL for the fleet's own databases; it "
                              "takes no --dialect or --database")
        parts = by_dialect(config, choose(config, fleet, None), app, migration, backwards)
        sql = "".join(f"-- {p.dialect}: {p.targets} target{'s' if p.targets != 1 else ''} "
                      f"of fleet {fleet}\n{p.sql}\n" for p in parts)
    else:
        sql = render_sql(config, app, migration, backwards=backwards, dialect=dialect,
                         database=database)
    out = console.out()
    if out.is_terminal:
        from rich.syntax import Syntax

        out.print(Syntax(sql.rstrip("\n"), "sql", background_color="default"))
    else:
        out.file.write(sql)
