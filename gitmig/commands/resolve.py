"""gitmig resolve"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load


@click.command("resolve")
@click.argument("apps", nargs=-1, metavar="[APP]...")
@click.option("--strategy", type=click.Choice(["rebase", "merge"]), default="rebase",
              show_default=True,
              help="rebase: renumber this branch's new migrations after the other branch's; "
                   "merge: write a merge migration.")
@click.option("-n", "--name", help="Name the merge migration (--strategy merge).")
@config_option
def command(apps: tuple[str, ...], strategy: str, name: str | None,
            config_path: str | None) -> None:
    """Make an app's conflicting migrations (several latest ones) one line again.

    Run it during a merge or a rebase (when git stops at a conflicted gitmig.lock) or
    after one. With the rebase strategy, the migrations only this branch adds are
    renumbered and re-parented to follow the other branch's latest migration: their
    operations are kept, so a database that applied one under its old name is still
    right. With the merge strategy, a merge migration joins the latest migrations, as
    `gitmig makemigrations --merge` does. Files are renamed in the working tree and in
    git's index, and the lock files are marked resolved; nothing changes unless the
    result replays to the models' schema.
    """
    from gitmig.resolve import resolve

    config = load(config_path)
    if name is not None and strategy != "merge":
        raise click.UsageError("--name names a merge migration; use it with --strategy merge")
    print_outcome(resolve(config, apps, strategy=strategy, name=name))


def print_outcome(outcome: object) -> None:
    from gitmig import console
    from gitmig.resolve import Outcome

    assert isinstance(outcome, Outcome)
    for line in outcome.lines:
        console.say(line)
    if outcome.remaining:
        console.say(f"Other files are still in conflict, for you to resolve: "
                    f"{', '.join(outcome.remaining)}; then `git add` them", style="yellow")
    if outcome.next_step:
        console.say(f"Next: {outcome.next_step}.")
