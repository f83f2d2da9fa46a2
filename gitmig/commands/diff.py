"""gitmig diff"""

from __future__ import annotations

import json

import click

from gitmig.commands.common import config_option, load

STYLES = {"+": "green", "-": "red", "~": "yellow"}


@click.command("diff")
@click.argument("revisions", nargs=-1, metavar="[REV_A [REV_B]]")
@click.option("--staged", "--cached", "staged", is_flag=True,
              help="Compare with what is staged (the index) instead of the working tree.")
@click.option("--json", "as_json", is_flag=True, help="Print the operations as JSON.")
@config_option
def command(
    revisions: tuple[str, ...], staged: bool, as_json: bool, config_path: str | None
) -> None:
    """Show the schema change between two revisions' models, as migration operations.

    \b
    gitmig diff                  HEAD -> the working tree
    gitmig diff --staged         HEAD -> the index (what the next commit holds)
    gitmig diff REV              REV -> the working tree (REV --staged: REV -> the index)
    gitmig diff REV_A REV_B      REV_A -> REV_B

    A revision is anything git understands: HEAD~2, a branch, a tag, a hash. Exit status
    is 0 whether or not the schema changed.
    """
    from gitmig import console
    from gitmig.actions.diff import between, kind_of, to_json
    from gitmig.git.snapshot import GitProject

    if len(revisions) > 2:
        raise click.UsageError("give at most two revisions: gitmig diff [REV_A [REV_B]]")
    if staged and len(revisions) == 2:
        raise click.UsageError("--staged compares one revision with the index; give one REV")
    project = GitProject(load(config_path))
    before = project.revision(revisions[0] if revisions else "HEAD")
    if len(revisions) == 2:
        after = project.revision(revisions[1])
    elif staged:
        after = project.index()
    else:
        after = project.worktree()
    diff = between(before, after)

    if as_json:
        click.echo(json.dumps(to_json(diff), indent=2))
        return
    sides = f"{before.label} and {after.label}"
    if not diff.changes:
        console.say(f"No schema changes between {sides}.")
        return
    console.say(f"Schema changes between {sides}:")
    for app, operations in diff.changes.items():
        console.say()
        console.say(app, style="bold")
        for op in operations:
            kind = kind_of(op)
            console.say(f"  {kind} {op.describe()}", style=STYLES[kind])
            console.say("      " + op.source().render(6), style="dim")
