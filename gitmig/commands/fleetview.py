"""What the fleet commands print: a live display on a terminal, plain lines when piped.

Shared by `migrate --fleet`, `showmigrations --fleet`, `status --fleet` and `sqlmigrate
--fleet`; the logic is gitmig.fleet's, this module only shows it.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from gitmig import console, hints
from gitmig.errors import CheckFailed

if TYPE_CHECKING:
    from gitmig.fleet.migrate import FleetReport
    from gitmig.fleet.runner import Result, Watcher
    from gitmig.fleet.spec import Target
    from gitmig.fleet.survey import Row

RECENT = 6  # finished targets the live display keeps in view


def watcher(name: str) -> Watcher:
    """Rich's live view on a terminal; otherwise a line per finished target."""
    from gitmig.fleet.runner import Watcher

    class Lines(Watcher):
        def __init__(self) -> None:
            self.total = 0
            self.count = 0

        def begin(self, total: int) -> None:
            self.total = total
            sys.stdout.write(f"Fleet {name}: {total} target{_s(total)}\n")
            sys.stdout.flush()

        def finished(self, result: Result) -> None:
            self.count += 1
            width = len(str(self.total))
            sys.stdout.write(f"[{self.count:>{width}}/{self.total}] {_outcome(result)}\n")
            sys.stdout.flush()

    class Live(Watcher):
        def __init__(self) -> None:
            from rich.live import Live as RichLive

            self.total = 0
            self.started_at = time.monotonic()
            self.running: dict[Target, float] = {}
            self.done: list[Result] = []
            self.live = RichLive(console=console.out(), auto_refresh=False, transient=True)

        def begin(self, total: int) -> None:
            self.total = total
            self.live.start()
            self.tick()

        def started(self, target: Target) -> None:
            self.running[target] = time.monotonic()

        def finished(self, result: Result) -> None:
            self.running.pop(result.target, None)
            self.done.append(result)
            console.out().print(_outcome(result), markup=False, highlight=False,
                                style=None if result.ok else "red")
            self.tick()

        def tick(self) -> None:
            from rich.console import Group
            from rich.progress_bar import ProgressBar
            from rich.table import Table
            from rich.text import Text

            failed = sum(1 for r in self.done if not r.ok)
            head = Text(f"Fleet {name}: {len(self.done)}/{self.total} done, "
                        f"{len(self.running)} running, ")
            head.append(f"{failed} failed", style="red" if failed else None)
            head.append(f"  {time.monotonic() - self.started_at:.0f} s")
            table = Table(show_header=False, box=None, padding=(0, 1))
            now = time.monotonic()
            for target, since in self.running.items():
                table.add_row(Text("running", style="cyan"), Text(f"{now - since:5.1f} s"),
                              Text(target.label))
            bar = Table.grid()  # a row of its own: a bare ProgressBar ends no line
            bar.add_row(ProgressBar(total=max(self.total, 1), completed=len(self.done),
                                    width=40))
            self.live.update(Group(head, bar, table), refresh=True)

        def close(self) -> None:
            self.live.stop()

    return Lines() if console.plain() else Live()


def _outcome(r: Result) -> str:
    if not r.ok:
        return f"FAILED   {r.seconds:6.2f} s  {r.target.label}: {r.error}"
    what = (f"{r.applied} {'unapplied' if r.backwards else 'applied'}" if r.applied
            else "up to date")
    return f"ok       {r.seconds:6.2f} s  {r.target.label}: {what}"


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def finish(report: FleetReport, shown: Watcher) -> None:
    """The end of a fleet run: totals, every failure with its reason; exit 1 on any."""
    close = getattr(shown, "close", None)
    if close is not None:
        close()
    for r in report.results:
        for w in r.warnings:
            console.warn(f"{r.target.label}: {w}")
    done = len(report.results)
    applied = sum(r.applied for r in report.results if not r.backwards)
    unapplied = sum(r.applied for r in report.results if r.backwards)
    counts = f"{applied} migration{_s(applied)} applied"
    if unapplied:
        counts += f", {unapplied} unapplied"
    up_to_date = sum(1 for r in report.results if r.ok and not r.applied)
    console.say(f"Fleet {report.name}: {done} of {report.total} target{_s(report.total)} "
                f"run: {len(report.migrated)} migrated ({counts}), {up_to_date} up to date, "
                f"{len(report.failed)} failed.")
    if report.skipped:
        console.say(f"The canaries failed: {len(report.skipped)} other target"
                    f"{_s(len(report.skipped))} were not touched.", style="bold red")
    if not report.failed:
        return
    console.say("Failed:", style="bold red")
    for r in report.failed:
        console.say(f"  {r.target.label}: {r.error}")
    raise CheckFailed(
        f"{len(report.failed)} of {done} target{_s(done)} of fleet {report.name} failed "
        "(listed above)", hint=hints.FLEET_RERUN)


def print_plan(report: FleetReport) -> None:
    lines: list[tuple[str, str | None]] = [
        (f"Fleet {report.name}: {report.total} target{_s(report.total)}", "bold")]
    for r in report.results:
        if not r.ok:
            lines.append((f"{r.target.label}: cannot plan: {r.error}", "red"))
        elif r.planned:
            lines.append((f"{r.target.label}: {len(r.planned)} to run: "
                          f"{', '.join(r.planned)}", None))
        else:
            lines.append((f"{r.target.label}: up to date", None))
    console.say_lines(lines)
    if any(not r.ok for r in report.results):
        raise CheckFailed("some targets could not be planned (listed above)")


def _cell(row: Row, app: str) -> str:
    if row.unreachable is not None:
        return "unreachable"
    c = row.apps[app]
    text = c.latest or "-"
    if c.pending:
        text += f" (+{c.pending})"
    if c.interrupted:
        text += f" INTERRUPTED {c.interrupted}"
    return text


def _drift_cell(row: Row) -> str:
    if row.drift is None:
        return "-" if row.unreachable is not None else "not checked"
    return f"{len(row.drift)} change{_s(len(row.drift))}" if row.drift else "none"


def print_matrix(name: str, rows: list[Row], apps: list[str], as_json: bool,
                 drift: bool = False) -> None:
    if as_json:
        click.echo(json.dumps({"fleet": name, "drift": "checked" if drift else
                               "not checked (--drift checks it)",
                               "targets": [r.as_json() for r in rows]}, indent=2))
        return
    styles = {"up to date": "green", "behind": "yellow", "failed": "red",
              "interrupted": "red", "unreachable": "red", "drifted": "yellow"}
    extra = ["drift"] if drift else []

    def cells(r: Row) -> list[str]:
        return [*([_drift_cell(r)] if drift else []), *(_cell(r, a) for a in apps)]

    if console.plain():
        lines = ["\t".join(["target", "state", *extra, *apps])]
        lines += ["\t".join([r.target.label, r.state, *cells(r)]) for r in rows]
        sys.stdout.write("\n".join(lines) + "\n")
    else:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"Fleet {name}: latest applied migration (+pending) per app")
        for column in ["target", "state", *extra, *apps]:
            table.add_column(column)
        for r in rows:
            table.add_row(Text(r.target.label), Text(r.state, style=styles[r.state]),
                          *(Text(c) for c in cells(r)))
        console.out().print(table)
    _explain(rows)
    if drift and any(r.drift for r in rows):
        console.say(f"`gitmig drift --fleet {name}` lists each drifted target's changes.")


def _explain(rows: list[Row]) -> None:
    """Why a target is unreachable or failed: below the matrix, one line each."""
    for r in rows:
        if r.unreachable:
            console.say(f"{r.target.label}: unreachable: {r.unreachable}")
        elif r.last_failure and r.pending:
            console.say(f"{r.target.label}: the last fleet run failed: {r.last_failure}")
        for label in r.unknown:
            console.say(f"{r.target.label}: {label} is applied but has no file here")
        if r.drift_error:
            console.say(f"{r.target.label}: drift not checked: {r.drift_error}")


def summary(name: str, rows: list[Row]) -> dict[str, Any]:
    states: dict[str, int] = {}
    for r in rows:
        states[r.state] = states.get(r.state, 0) + 1
    return {"fleet": name, "targets": len(rows), "states": states,
            "pending_migrations": sum(r.pending for r in rows),
            "dialects": sorted({r.target.dialect for r in rows})}


def print_status(name: str, rows: list[Row], as_json: bool, drift: bool = False) -> None:
    data = summary(name, rows)
    if drift:
        data["drifted"] = [r.target.label for r in rows if r.drift]
    if as_json:
        data["not_up_to_date"] = [r.as_json() for r in rows if r.state != "up to date"]
        click.echo(json.dumps(data, indent=2))
    else:
        lines: list[tuple[str, str | None]] = [
            (f"Fleet {name}: {len(rows)} target{_s(len(rows))} "
             f"({', '.join(data['dialects'])})", "bold")]
        for state in ("up to date", "behind", "failed", "interrupted", "unreachable",
                      "drifted"):
            if data["states"].get(state):
                lines.append((f"  {state}: {data['states'][state]}", None))
        if data["pending_migrations"]:
            lines.append((f"  {data['pending_migrations']} migrations pending in all; "
                          f"`gitmig migrate --fleet {name}` applies them", None))
        if drift:
            drifted = sum(1 for r in rows if r.drift)
            lines.append((f"  {drifted} target{_s(drifted)} drifted from their applied "
                          f"migrations; `gitmig drift --fleet {name}` lists the changes"
                          if drifted else "  no target has drifted", None))
        worst = [r for r in rows if r.state != "up to date"][:10]
        for r in worst:
            lines.append((f"  {r.state:<12} {r.target.label}", None))
        if len(worst) < len([r for r in rows if r.state != "up to date"]):
            lines.append((f"  ... `gitmig showmigrations --fleet {name}` lists all", None))
        console.say_lines(lines)
    if any(r.state != "up to date" for r in rows):
        raise click.exceptions.Exit(1)


def check(name: str, rows: list[Row]) -> None:
    """`migrate --check --fleet`: exit 1 naming every target that is not up to date."""
    behind = [r for r in rows if r.state != "up to date"]
    if not behind:
        console.say(f"Every target of fleet {name} ({len(rows)}) is up to date.")
        return
    for r in behind:
        detail = r.unreachable or (f"{r.pending} migration{_s(r.pending)} to apply"
                                   if r.pending else ", ".join(r.interrupted))
        console.say(f"{r.target.label}: {r.state}: {detail}")
    raise CheckFailed(f"{len(behind)} of {len(rows)} target{_s(len(rows))} of fleet {name} "
                      "are not up to date", hint=f"run `gitmig migrate --fleet {name}`")
