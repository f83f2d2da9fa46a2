"""gitmig makemigrations"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from gitmig.commands.common import config_option, load
from gitmig.git.project import shown_path

if TYPE_CHECKING:
    from gitmig.lint.model import Finding


@click.command("makemigrations")
@click.argument("apps", nargs=-1, metavar="[APP]...")
@click.option("-n", "--name", help="Name the migration (a plain slug: a-z, 0-9, _).")
@click.option(
    "--check", is_flag=True, help="Exit 1 if model changes lack migrations; write nothing."
)
@click.option("--dry-run", is_flag=True, help="Show what would be written; write nothing.")
@click.option("--empty", is_flag=True, help="Write an empty migration to fill in by hand.")
@click.option(
    "--no-input", is_flag=True,
    help="Never ask; use --rename, --rename-enum-value, --default and --move answers only."
)
@click.option(
    "--rename",
    multiple=True,
    metavar="OLD=NEW",
    help="A rename to apply without asking: TABLE.OLD=NEW for a column, OLD=NEW for a table.",
)
@click.option(
    "--default",
    "defaults",
    multiple=True,
    metavar="TABLE.COLUMN=VALUE",
    help="Value for existing rows of a new NOT NULL column.",
)
@click.option(
    "--move",
    "moves",
    multiple=True,
    metavar="TABLE=APP",
    help="A table moved to another app's models: move it in the migrations only (no SQL).",
)
@click.option(
    "--rename-enum-value",
    "enum_renames",
    multiple=True,
    metavar="ENUM.OLD=NEW",
    help="An enum value renamed, without asking: rows holding OLD then hold NEW.",
)
@click.option("--staged", is_flag=True,
              help="Read the models and migrations as staged in git's index.")
@click.option("--rev", metavar="REV", help="Read the models and migrations as of a revision.")
@click.option("--amend", is_flag=True,
              help="Fold the changes into the app's latest migration (uncommitted, unapplied).")
@click.option("--database", metavar="URL",
              help="With --amend: the database to check the migration is not applied to.")
@click.option("--merge", is_flag=True,
              help="Write a merge migration joining an app's conflicting latest migrations.")
@click.option("--safe", is_flag=True,
              help="Write the safe forms `gitmig lint` asks for (concurrent indexes, "
                   "constraints validated later, NOT NULL columns in steps).")
@click.option("-v", "--verbosity", type=click.IntRange(0, 3), default=1,
              help="0 quiet, 1 normal, 3 also prints the file text with --dry-run.")
@config_option
def command(
    apps: tuple[str, ...],
    name: str | None,
    check: bool,
    dry_run: bool,
    empty: bool,
    no_input: bool,
    rename: tuple[str, ...],
    defaults: tuple[str, ...],
    moves: tuple[str, ...],
    enum_renames: tuple[str, ...],
    staged: bool,
    rev: str | None,
    amend: bool,
    database: str | None,
    merge: bool,
    verbosity: int,
    config_path: str | None,
    safe: bool = False,
) -> None:
    """Compare the models with the migrations and write what is missing.

    Renames (of tables, columns and enum values), values for existing rows and tables
    moved to another app are asked on a terminal; with --no-input (or without a terminal)
    only --rename, --rename-enum-value, --default and --move answer them.

    --staged and --rev read the models and migrations from git (the index, a commit);
    the new files still go to the working tree's migrations folders, whose migrations
    must then be the same as there. --amend rewrites the latest migration of each changed
    app with the new operations added, as `git commit --amend` does, unless it is
    committed or applied to the database.
    """
    config = load(config_path)
    plain = not (merge or amend or staged or rev or empty or rename or defaults or dry_run
                 or moves or safe or enum_renames)
    if plain:
        from gitmig.migrations.insync import nothing_pending

        if nothing_pending(config, apps):  # answered from the state cache, no SQLAlchemy
            if verbosity:
                scope = f" in {', '.join(apps)}" if apps else ""
                click.echo(f"No changes detected{scope}.")
            return

    from gitmig import console
    from gitmig.actions.makemigrations import Options, PendingChanges, make_migrations
    from gitmig.migrations.questioner import (
        Answers,
        CheckQuestioner,
        InteractiveQuestioner,
        Questioner,
    )

    if merge:
        _merge(config, apps, name, check=check, dry_run=dry_run, empty=empty, amend=amend,
               staged=staged, rev=rev)
        return
    answers = Answers.parse(rename, defaults)
    answers.add_moves(moves)
    answers.add_enum_renames(enum_renames)
    questioner: Questioner
    if check:
        questioner = CheckQuestioner(answers)
    elif no_input or not console.is_interactive():
        questioner = Questioner(answers)
    else:
        questioner = InteractiveQuestioner(answers, prompt=_prompt)
    if staged and rev is not None:
        raise click.UsageError("give either --staged or --rev, not both")
    if database is not None and not amend:
        raise click.UsageError("--database is only used with --amend")
    options = Options(apps=apps, name=name, check=check, dry_run=dry_run, empty=empty,
                      staged=staged, rev=rev, safe=safe)
    if amend:
        from gitmig.actions.amend import amend_migrations

        amended = amend_migrations(config, options, questioner, database)
        _report_amended(amended, verbosity, apps, dry_run)
        return
    try:
        outcome = make_migrations(config, options, questioner)
    except PendingChanges as exc:
        report(exc.outcome, verbosity, check=True)
        raise
    for w in outcome.warnings:
        console.warn(w)
    if not outcome.migrations:
        if verbosity:
            scope = f" in {', '.join(apps)}" if apps else ""
            console.say(f"No changes detected{scope}.")
    else:
        report(outcome, verbosity, check=check, dry_run=dry_run)
    for note in outcome.notes if verbosity else ():
        console.say(note)
    if outcome.findings and verbosity:
        _lint_report(outcome.findings)


def _report_amended(outcome: object, verbosity: int, apps: tuple[str, ...],
                    dry_run: bool) -> None:
    from gitmig import console
    from gitmig.actions.amend import Outcome

    assert isinstance(outcome, Outcome)
    for w in outcome.warnings:
        console.warn(w)
    if not verbosity:
        return
    if not outcome.amended:
        scope = f" in {', '.join(apps)}" if apps else ""
        console.say(f"No changes detected{scope}; nothing to amend.")
        return
    for a in outcome.amended:
        console.say(f"Amended migration for '{a.app}':" if not dry_run
                    else f"Would amend the migration for '{a.app}':", style="bold")
        where = shown_path(a.new.path)
        if a.renamed:
            where = f"{shown_path(a.old_path)} -> {where}"
        console.say(f"  {where}", style="cyan")
        kept = len(a.new.operations) - len(a.added)
        for i, op in enumerate(a.new.operations):
            sign = "-" if op.destructive else "+"
            new = "  (new)" if i >= kept else ""
            loss = "  (destructive: data is lost)" if op.destructive else ""
            console.say(f"    {sign} {op.describe()}{loss}{new}",
                        style="red" if op.destructive else None)
        if dry_run and verbosity >= 3:
            console.say()
            console.say(a.new.text)
    for note in outcome.notes:
        console.say(note)


def _merge(config: object, apps: tuple[str, ...], name: str | None, **others: object) -> None:
    """--merge: what `gitmig resolve --strategy merge` does (gitmig.resolve)."""
    from gitmig.commands.resolve import print_outcome
    from gitmig.config import Config
    from gitmig.resolve import MERGE, resolve

    assert isinstance(config, Config)
    given = [f"--{k.replace('_', '-')}" for k, v in others.items() if v]
    if given:
        raise click.UsageError(f"--merge cannot be combined with {', '.join(given)}")
    print_outcome(resolve(config, apps, strategy=MERGE, name=name))


def _lint_report(findings: list[Finding]) -> None:
    """What `gitmig lint` will say of the new files, said now (stderr: the files were
    written all the same)."""
    from gitmig.lint.report import counts

    lines = [f"gitmig lint: {counts(findings)} in what was just written:"]
    for f in findings:
        lines += [f"  {f.label}: {f.severity} {f.rule}: {f.message}", f"    safe: {f.safe}"]
    lines.append("  (`gitmig lint` judges the branch; `makemigrations --safe` writes the safe "
                 "forms it can)")
    click.echo("\n".join(lines), err=True)


def _prompt(question: str) -> str:
    reply: str = click.prompt(question, default="", show_default=False, prompt_suffix="")
    return reply


def report(outcome: object, verbosity: int, check: bool = False, dry_run: bool = False) -> None:
    from gitmig import console
    from gitmig.actions.makemigrations import Outcome

    assert isinstance(outcome, Outcome)
    if not verbosity:
        return
    for m in outcome.migrations:
        console.say(f"Migrations for '{m.app}':", style="bold")
        verb = "would write" if check or dry_run else ""
        console.say(f"  {shown_path(m.path)}" + (f"  ({verb})" if verb else ""), style="cyan")
        for op in m.operations:
            if op.destructive:
                console.say(f"    - {op.describe()}  (destructive: data is lost)", style="red")
            else:
                console.say(f"    + {op.describe()}")
        if not m.operations:
            console.say("    (empty: add operations by hand)")
        if dry_run and verbosity >= 3:
            console.say()
            console.say(m.text)
