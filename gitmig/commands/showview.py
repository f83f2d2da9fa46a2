"""What `gitmig showmigrations` prints (per app, `--plan`, `--json`), without click.

The click command (gitmig.commands.showmigrations) and gitmig.entry's shortcut for the
everyday command lines (`showmigrations [APP]... [--plan] [--json] [--database URL]`)
both print through `show`, so the two cannot differ. The shortcut skips importing click
and the command table, about a third of the command's time at N=200; any other option,
`--help`, or an interrupted change to finish is left to the full command.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gitmig.actions.showmigrations import Entry
    from gitmig.config import Config

Line = tuple[str, str | None]  # text, rich style (colours on a terminal only)

FLAGS = ("--plan", "--json")  # with --database URL, the options the shortcut takes


def show(config: Config, apps: tuple[str, ...] | list[str], as_plan: bool, as_json: bool,
         database: str | None) -> None:
    """Print the migrations beside the database's history, as the user asked."""
    from gitmig.actions.showmigrations import read_history

    labels = [a.label for a in config.select(apps)]
    history = read_history(config, database)
    if as_plan:
        entries = history.plan(labels)
        if as_json:
            print_json({"database": history.url, "plan": [e.as_json() for e in entries]})
        else:
            _print_plan(entries)
        return
    by_app = history.by_app(labels)
    if as_json:
        print_json({
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


def main(args: list[str]) -> int | None:
    """`gitmig showmigrations ARGS` as gitmig.cli would run it, with its exit code; None
    when the full command must run instead (another option, or a change a killed command
    left half-done, which the full command finishes and reports)."""
    parsed = _parse(args)
    if parsed is None:
        return None
    apps, database = parsed
    from gitmig.config import load_config
    from gitmig.errors import GitmigError
    from gitmig.git.projectlock import journal_path, sweep_leftovers
    from gitmig.migrations.statecache import cache_dir

    try:
        try:
            config = load_config(os.environ.get("GITMIG_CONFIG") or None)  # --config's envvar
            journal = journal_path(config.root)
            if journal is not None and journal.exists():
                return None
            sweep_leftovers(config.root, [app.migrations for app in config.apps.values()],
                            [cache_dir()])
            show(config, apps, "--plan" in args, "--json" in args, database)
        except GitmigError as exc:  # as gitmig.cli.run prints it
            prefix = "gitmig: error: " if exc.exit_code == 2 else "gitmig: "
            sys.stderr.write(f"{prefix}{exc.headline()}\n")
            if exc.hint:
                sys.stderr.write(f"hint: {exc.hint}\n")
            return exc.exit_code
    except KeyboardInterrupt:  # as click turns it into Abort, and gitmig.cli.run reports that
        sys.stderr.write("\ngitmig: aborted\n")
        return 130
    except OSError as exc:  # a reader that closed the pipe: exit 1 quietly, as click does
        # (what is still buffered meets the closed pipe at exit, as after click)
        if exc.errno != errno.EPIPE:
            raise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def _parse(args: list[str]) -> tuple[list[str], str | None] | None:
    """(the apps, the --database URL) as click reads them; None for anything else (an
    option click would refuse, or whose reading is less plain), left to click."""
    apps: list[str] = []
    database = None
    rest = iter(args)
    for arg in rest:
        if arg in FLAGS:
            continue
        if arg == "--database" or arg.startswith("--database="):
            value = arg.partition("=")[2] if "=" in arg else next(rest, "")
            if not value or value.startswith("-"):
                return None
            database = value  # the last one, as click takes it
        elif arg.startswith("-"):
            return None
        else:
            apps.append(arg)
    return apps, database


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


def print_json(data: object) -> None:
    """As click.echo printed it: one write and a flush (json.dumps escapes every control
    character, so there is no terminal colour code for click to strip)."""
    import json

    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    sys.stdout.flush()
