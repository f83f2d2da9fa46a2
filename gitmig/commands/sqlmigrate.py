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
@config_option
def command(
    app: str,
    migration: str,
    backwards: bool,
    dialect: str | None,
    database: str | None,
    config_path: str | None,
) -> None:
    """Print the SQL of MIGRATION (a name or a unique prefix such as 0003) of APP.

    Nothing is run. The output can be run as printed; RunPython operations appear as
    comments, since they are Python code.
    """
    from gitmig import console
    from gitmig.db.sqlrender import render_sql

    config = load(config_path)
    sql = render_sql(config, app, migration, backwards=backwards, dialect=dialect,
                     database=database)
    out = console.out()
    if out.is_terminal:
        from rich.syntax import Syntax

        out.print(Syntax(sql.rstrip("\n"), "sql", background_color="default"))
    else:
        out.file.write(sql)
