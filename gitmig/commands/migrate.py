"""gitmig migrate"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.actions.migrate import Reporter
    from gitmig.db.executor import Prepared, Retry


@click.command("migrate")
@click.argument("app", required=False)
@click.argument("target", required=False)
@click.option("--database", metavar="URL",
              help="Database URL (default: GITMIG_DATABASE_URL, then [tool.gitmig] database).")
@click.option("--fake", is_flag=True,
              help="Record the migrations as applied (or unapplied) without running them.")
@click.option("--fake-initial", is_flag=True,
              help="Record an initial migration as applied without running it when its "
                   "tables exist and match it exactly.")
@click.option("--no-drift-check", is_flag=True,
              help="Do not compare the database with its applied migrations first (that "
                   "runs them into a scratch database).")
@click.option("--plan", "plan_only", is_flag=True,
              help="Print what would run, with each operation; change nothing.")
@click.option("--check", is_flag=True,
              help="Exit 1 if migrations are unapplied or were edited after being applied; "
                   "change nothing.")
@click.option("--no-input", is_flag=True,
              help="Never ask; by default a terminal is asked before data is dropped.")
@click.option("--fleet", metavar="NAME",
              help="Migrate every database or schema of [tool.gitmig.fleets.NAME].")
@click.option("--jobs", "-j", type=int, default=1, show_default=True,
              help="With --fleet: targets migrated at once, each in its own process.")
@click.option("--canary", type=int, default=0, metavar="K",
              help="With --fleet: migrate K targets first; stop if any of them fails.")
@click.option("--shard", metavar="I/N",
              help="With --fleet: only shard I of N (1-based), a stable slice of the fleet.")
@config_option
def command(
    app: str | None,
    target: str | None,
    database: str | None,
    fake: bool,
    fake_initial: bool,
    no_drift_check: bool,
    plan_only: bool,
    check: bool,
    no_input: bool,
    fleet: str | None,
    jobs: int,
    canary: int,
    shard: str | None,
    config_path: str | None,
) -> None:
    """Apply or unapply migrations to reach TARGET.

    Without APP, every app's migrations are applied. With APP, that app's, and those of
    other apps it needs. TARGET is a migration name, a unique prefix such as 0003, or
    `zero` to unapply the whole app; migrations after it in its app are unapplied, with
    the migrations of other apps that depend on them.
    """
    from gitmig import console

    config = load(config_path)
    # --check compares the catalog (drift) too, which only the full path does.
    if (not (app or target or fake or plan_only or fleet) and (not check or no_drift_check)
            and (jobs, canary, shard) == (1, 0, None)):
        from gitmig.actions.uptodate import up_to_date

        seen: list[Any] = []  # the settled history and graph, for the warm path
        if up_to_date(config, database, seen):  # no SQLAlchemy, lock or models needed
            console.say("The database is up to date." if check else "No migrations to apply.")
            return
        if not (check or fake_initial):
            from gitmig.actions.warmmigrate import warm_migrate

            # SQL a full run recorded, through sqlite3; False: the full path goes on
            if warm_migrate(config, database, not no_input and console.is_interactive(),
                            _applied_line, seen[0] if seen else None):
                return
            from gitmig.actions.warmpg import warm_migrate_pg

            # an empty PostgreSQL database: SQL a full run recorded, through libpq
            if warm_migrate_pg(config, database, not no_input and console.is_interactive(),
                               _applied_line):
                return
    from gitmig.actions.migrate import Options, migrate

    options = Options(app=app, target=target, database=database, fake=fake, plan=plan_only,
                      check=check, fake_initial=fake_initial,
                      drift_check=not no_drift_check)
    if fleet is not None:
        _fleet(config, fleet, options, jobs, canary, shard)
        return
    if (jobs, canary, shard) != (1, 0, None):
        from gitmig.errors import GitmigError

        raise GitmigError("--jobs, --canary and --shard spread a fleet's targets; they need "
                          "--fleet NAME")
    reporter = _reporter(ask=not no_input and console.is_interactive())
    outcome = migrate(config, options, reporter)
    if plan_only:
        _print_plan(outcome.prepared, target)
    elif check:
        console.say("The database is up to date.")
    elif not outcome.prepared:
        console.say(_nothing(target))


def _applied_line(label: str, ms: float) -> None:
    """The full path's progress line, printed whole once the migration committed."""
    _out(f"Applying {label}...", end="")
    _out(f" OK ({ms:.0f} ms)", style="green")


def _nothing(target: str | None) -> str:
    """`migrate APP zero` asks to unapply: with nothing applied, say that, not `apply`."""
    return "Nothing to unapply." if target == "zero" else "No migrations to apply."


def _fleet(config: Any, name: str, options: Any, jobs: int, canary: int,
           shard: str | None) -> None:
    """migrate --fleet: the targets in parallel (or surveyed, with --check)."""
    from gitmig.commands import fleetview

    if options.check:
        from gitmig.fleet.migrate import choose
        from gitmig.fleet.survey import survey
        from gitmig.migrations.loader import load_graph

        if options.database:
            from gitmig.errors import GitmigError

            raise GitmigError("--fleet and --database name different databases; give one")
        graph = load_graph(config)
        fleetview.check(name, survey(config, name, choose(config, name, shard), graph,
                                     max(jobs, 4)))
        return
    from gitmig.fleet.migrate import migrate_fleet
    from gitmig.fleet.runner import Watcher

    shown = Watcher() if options.plan else fleetview.watcher(name)
    try:
        report = migrate_fleet(config, name, options, jobs=jobs, canary=canary,
                               shard_text=shard, watcher=shown)
    except BaseException:
        close = getattr(shown, "close", None)
        if close is not None:
            close()
        raise
    if options.plan:
        fleetview.print_plan(report)
        return
    fleetview.finish(report, shown)


def _reporter(ask: bool) -> Reporter:
    """Progress lines as migrate goes, and the question before data is dropped."""
    from gitmig import console
    from gitmig.actions.migrate import Reporter

    class Printer(Reporter):
        def waiting(self) -> None:
            console.err().print(
                "Waiting for another `gitmig migrate` on this database to finish...",
                markup=False, highlight=False,
            )

        def warn(self, text: str) -> None:
            console.warn(text)

        def confirm(self, prepared: list[Prepared]) -> bool:
            losses = [(p.label, what) for p in prepared for what in p.destructive]
            if not ask or not losses:
                return True
            console.say("These operations drop data:", style="bold red")
            for label, what in losses:
                console.say(f"  {label}: {what}")
            if not click.confirm("Continue?", default=False):
                raise click.Abort()
            return True

        def start(self, p: Prepared) -> None:
            verb = "Unapplying" if p.step.backwards else "Applying"
            _out(f"{verb} {p.label}...", end="")

        def done(self, p: Prepared, ms: float, fake: bool) -> None:
            if fake:
                _out(" FAKED", style="yellow")
            else:
                _out(f" OK ({ms:.0f} ms)", style="green")

        def failed(self, p: Prepared) -> None:
            _out(" FAILED", style="bold red")

        def retrying(self, retry: Retry) -> None:
            """Ends the open progress line with why, and opens it again: a deploy
            watching migrate sees why it is slow."""
            _out(f" {retry.reason()}", style="yellow")
            self.start(retry.p)

    return Printer()


def _out(text: str, style: str | None = None, end: str = "\n") -> None:
    """Progress lines: rich only on a terminal, where a thousand of them cost nothing
    next to reading; piped (CI, logs), plain writes keep `migrate` from paying for them."""
    from gitmig import console

    if console.plain():
        sys.stdout.write(text + end)
        if not end:
            sys.stdout.flush()  # "Applying x..." shows before x runs
        return
    console.out().print(text, style=style, end=end, markup=False, highlight=False)


def _print_plan(prepared: list[Any], target: str | None) -> None:
    from gitmig import console

    if not prepared:
        console.say(_nothing(target))
        return
    console.say("Planned operations:", style="bold")
    for p in prepared:
        verb = "Unapply" if p.step.backwards else "Apply"
        console.say(f"{verb} {p.label}")
        for action in p.actions:
            line = f"    {action.describe()}"
            console.say(line, style="red" if action.op.destructive else None)
        if not p.actions:
            console.say("    (no operations)")
