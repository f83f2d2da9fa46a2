"""gitmig diff"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.git.snapshot import Snapshot

STYLES = {"+": "green", "-": "red", "~": "yellow"}


@click.command("diff")
@click.argument("revisions", nargs=-1, metavar="[REV_A [REV_B]]")
@click.option("--staged", "--cached", "staged", is_flag=True,
              help="Compare with what is staged (the index) instead of the working tree.")
@click.option("--json", "as_json", is_flag=True, help="Print the operations as JSON.")
@click.option("--erd", is_flag=True,
              help="Draw the schema as a diagram, tables and columns marked + added, "
                   "- dropped, ~ changed.")
@click.option("--format", "fmt", type=click.Choice(["text", "mermaid", "dot"]),
              default="text", show_default=True,
              help="With --erd: boxes in the terminal, a Mermaid erDiagram, or dot.")
@config_option
def command(
    revisions: tuple[str, ...], staged: bool, as_json: bool, erd: bool, fmt: str,
    config_path: str | None
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
    if erd and as_json:
        raise click.UsageError("give either --erd or --json, not both")
    if fmt != "text" and not erd:
        raise click.UsageError("--format draws a diagram: give it with --erd")
    project = GitProject(load(config_path))
    before = project.revision(revisions[0] if revisions else "HEAD")
    if len(revisions) == 2:
        after = project.revision(revisions[1])
    elif staged:
        after = project.index()
    else:
        after = project.worktree()
    if erd:
        _draw(before, after, fmt)
        return
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


def _draw(before: Snapshot, after: Snapshot, fmt: str) -> None:
    """`--erd`: the after side's schema, what changed since the before side marked."""
    from gitmig import console
    from gitmig.actions.erd import changes
    from gitmig.commands.erd import show

    diagram = changes(before, after)
    if fmt != "text":
        show(diagram, fmt, "")
        return
    sides = f"{before.label} and {after.label}"
    if not any(e.mark for e in diagram.entities):
        console.say(f"No schema changes between {sides}.")
        return
    console.say(f"Schema between {sides} (+ added, - dropped, ~ changed):")
    console.say()
    show(diagram, "text", "")
