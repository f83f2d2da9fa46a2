"""gitmig lint"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from gitmig.commands.common import config_option, load

if TYPE_CHECKING:
    from gitmig.lint.model import Finding


@click.command("lint")
@click.argument("apps", nargs=-1, metavar="[APP...]")
@click.option("--against", metavar="REF",
              help="Judge the migrations added since the merge base with REF "
                   "(default: the upstream branch, else main).")
@click.option("--unapplied", is_flag=True,
              help="Judge the migrations not applied to the configured database.")
@click.option("--all", "everything", is_flag=True, help="Judge every migration.")
@click.option("--dialect", "dialects", multiple=True,
              type=click.Choice(["sqlite", "postgresql", "mysql"]),
              help="The database to judge for (repeatable; default: the configured "
                   "database's, else all three).")
@click.option("--database", metavar="URL", help="The database for --unapplied.")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
@click.option("--format", "fmt", type=click.Choice(["text", "github"]), default="text",
              help="github: annotations on the migration files' lines for GitHub Actions.")
@click.option("--show-allowed", is_flag=True,
              help="List silenced findings too, with the reason they were allowed.")
@click.option("--rules", "list_rules", is_flag=True, help="List the rules and exit.")
@config_option
def command(
    apps: tuple[str, ...], against: str | None, unapplied: bool, everything: bool,
    dialects: tuple[str, ...], database: str | None, as_json: bool, fmt: str,
    show_allowed: bool, list_rules: bool, config_path: str | None,
) -> None:
    """Say what this branch's migrations would do to a production database.

    Data loss, code still running during a deploy that breaks (judged against the models
    at the merge base), locks and table rewrites per database, and the safe way for
    each. Exit status 1 when an error is found (warnings and notices do not fail).
    Silence a finding with `# gitmig: allow RULE-ID reason` on the operation's line, or
    in [tool.gitmig.lint].
    """
    from gitmig import console, hints
    from gitmig.errors import CheckFailed
    from gitmig.lint import report

    if list_rules:
        for rid, severity, dbs, group, title in report.rule_table():
            click.echo(f"{rid:26} {severity:8} {dbs:11} {title} ({group})")
        return
    from gitmig.actions.lint import lint

    config = load(config_path)
    result = lint(config, apps, against=against, unapplied=unapplied, everything=everything,
                  dialects=dialects, database=database)
    findings = result.findings if show_allowed else result.shown
    findings = [_relative(f) for f in findings]
    if as_json:
        listed = [_relative(f) for f in result.findings]
        click.echo(json.dumps(report.as_json(result, listed), indent=2))
    elif fmt == "github":
        for line in report.github([f for f in findings if f.allowed is None]):
            click.echo(line)
    else:
        names = ", ".join(result.databases)
        if not result.migrations:
            console.say(f"Nothing to lint: no migrations in {result.scope}.")
            return
        console.say(f"Linted {len(result.migrations)} migration"
                    f"{'' if len(result.migrations) == 1 else 's'} ({result.scope}) "
                    f"for {names}.")
        console.say_lines(report.lines(findings, len(result.databases) > 1))
        silenced = len(result.findings) - len(result.shown)
        more = ""
        if silenced and not show_allowed:
            more = f" ({silenced} allowed; --show-allowed lists them)"
        console.say()
        console.say(report.counts(result.shown) + more)
    if result.errors:
        n = len(result.errors)
        raise CheckFailed(f"lint found {n} error{'' if n == 1 else 's'} (see above); "
                          + hints.LINT_FIX)


def _relative(f: Finding) -> Finding:
    """The file as the user would type it from here."""
    import os
    from dataclasses import replace

    try:
        rel = os.path.relpath(f.path)
    except ValueError:
        return f
    return replace(f, path=rel if not rel.startswith("..") else f.path)
