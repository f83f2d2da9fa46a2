"""gitmig conflicts"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gitmig import hints
from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.git.conflicts import Prediction, Problem


@click.command("conflicts")
@click.option("--against", "refs", multiple=True, metavar="REF",
              help="Compare this branch with REF from their merge base (repeatable).")
@click.option("--all-branches", is_flag=True,
              help="Compare this branch with every other local and remote-tracking branch.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def command(refs: tuple[str, ...], all_branches: bool, as_json: bool,
            config_path: str | None) -> None:
    """Migrations that conflict now, or that will conflict when branches are merged.

    \b
    gitmig conflicts                  apps with several latest migrations in the working
                                      tree, and lock files that no longer match
    gitmig conflicts --against main   migrations this branch (HEAD) and main each add to
                                      the same app since their merge base
    gitmig conflicts --all-branches   the same against every other branch

    Other branches are read through git; none of their files is run. Exit 1 when a
    conflict is found (or will be), 0 otherwise.
    """
    from gitmig.errors import CheckFailed
    from gitmig.git import conflicts

    config = load(config_path)
    if refs and all_branches:
        raise click.UsageError("give either --against REF or --all-branches, not both")
    if refs or all_branches:
        prediction = (conflicts.all_branches(config) if all_branches
                      else conflicts.against(config, refs))
        if as_json:
            click.echo(json.dumps(prediction.as_json(), indent=2))
        else:
            _print_prediction(prediction)
        colliding = [b.ref for b in prediction.branches if b.collisions]
        if colliding:
            which = colliding[0] if len(colliding) == 1 else _count(len(colliding), "branch",
                                                                   "branches")
            raise CheckFailed(f"migrations will conflict after a merge with {which} "
                              "(see above)")
        return
    problems = conflicts.now(config)
    if as_json:
        click.echo(json.dumps({"conflicts": [p.as_json() for p in problems],
                               "conflict": bool(problems)}, indent=2))
    else:
        _print_problems(problems)
    if problems:
        raise CheckFailed(f"{_count(len(problems), 'conflict')} found (see above)")


def _print_problems(problems: list[Problem]) -> None:
    from gitmig import console

    if not problems:
        console.say("No conflicting migrations.")
    for p in problems:
        console.say(p.message, style="yellow")


def _print_prediction(prediction: Prediction) -> None:
    from gitmig import console

    console.say(f"This branch: {prediction.head}")
    clean = 0
    for b in prediction.branches:
        if not b.collisions:
            clean += 1
            continue
        base = f"merge base {b.merge_base}" if b.merge_base else "no common history"
        console.say()
        console.say(f"{b.ref} ({b.commit}, {base}):", style="bold")
        for c in b.collisions:
            console.say(f"  app {c.app!r}: both add migrations; merging leaves several latest "
                        "ones", style="yellow")
            console.say(f"    this branch adds: {', '.join(c.ours)}")
            console.say(f"    {b.ref} adds: {', '.join(c.theirs)}")
            if c.clashes:
                console.say(f"    both change {', '.join(c.clashes)}: agree on one change "
                            "before merging; `gitmig resolve` cannot reorder these",
                            style="red")
            elif c.tables:
                console.say(f"    warning: both change table {', '.join(c.tables)}; check "
                            "the changes fit together", style="yellow")
            console.say(f"    after the merge: {hints.RESOLVE.format(app=c.app)}")
    console.say()
    if prediction.collisions:
        console.say(f"{_count(len(prediction.branches), 'branch', 'branches')} compared; "
                    f"{_count(len(prediction.branches) - clean, 'branch', 'branches')} "
                    "will conflict.")
    else:
        console.say(f"{_count(len(prediction.branches), 'branch', 'branches')} compared; "
                    "no migrations will conflict.")


def _count(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"
