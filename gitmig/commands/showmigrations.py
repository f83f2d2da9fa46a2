"""gitmig showmigrations"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.actions.showmigrations import Entry

Line = tuple[str, str | None]  # text, rich style (colours on a terminal only)


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
    from gitmig.actions.showmigrations import read_history

    config = load(config_path)
    labels = [a.label for a in config.select(apps)]
    if fleet is not None:
        _fleet(config, fleet, labels, shard, as_json, database, as_plan, drift)
        return
    if drift:
        from gitmig.errors import GitmigError

        raise GitmigError("--drift adds a column to the fleet's matrix; it needs --fleet NAME",
                          hint="`gitmig drift` compares one database")
    history = read_history(config, database)
    if as_plan:
        entries = history.plan(labels)
        if as_json:
            _print_json({"database": history.url, "plan": [e.as_json() for e in entries]})
        else:
            _print_plan(entries)
        return
    by_app = history.by_app(labels)
    if as_json:
        _print_json({
            "database": history.url,
            "apps": {app: [e.as_json() for e in entries] for app, entries in by_app.items()},
        })
        return
    lines: list[Line] = []
    for app, entries in by_app.items():
        lines.append((app, "bold"))
        if not entries:
            lines.append((" (no migrations)", None))
        lines += [_line(f" {_box(e)} {e.name}", e) for e in entries]
    _say(lines)


def _box(e: Entry) -> str:
    return "[X]" if e.applied else "[ ]"


def _notes(e: Entry) -> str:
    notes = []
    if e.missing:
        notes.append("applied, but its file is missing")
        if e.in_git:
            notes.append(e.in_git)
        if e.unapply:
            notes.append(f"unapply it with `{e.unapply}`")
    if e.edited:
        notes.append("edited after it was applied")
    return f"  ({'; '.join(notes)})" if notes else ""


def _line(text: str, e: Entry) -> Line:
    style = "yellow" if e.missing or e.edited else ("green" if e.applied else None)
    return (text + _notes(e), style)


def _print_plan(entries: list[Entry]) -> None:
    lines: list[Line] = [] if entries else [("(no migrations)", None)]
    for e in entries:
        after = f"  (after {', '.join(e.parents)})" if e.parents else ""
        lines.append(_line(f"{_box(e)}  {e.label}{after}", e))
    _say(lines)


def _say(lines: list[Line]) -> None:
    from gitmig import console

    console.say_lines(lines)


def _print_json(data: object) -> None:
    import json

    click.echo(json.dumps(data, indent=2))


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
