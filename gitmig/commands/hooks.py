"""gitmig hooks install | uninstall | status | run"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from gitmig.commands.common import config_option

if TYPE_CHECKING:
    from gitmig.git.snapshot import GitProject

HOOK_NAMES = ("pre-commit", "post-merge", "post-checkout")


@click.group("hooks")
def command() -> None:
    """Install, remove or inspect gitmig's git hooks, or run one.

    \b
    pre-commit      refuses a commit whose staged model changes have no staged
                    migration, or whose staged migrations conflict or do not parse
    post-merge,     warn about conflicting migrations after a merge or a
    post-checkout   branch checkout

    A hook already in place keeps working: it is kept as NAME.gitmig-orig, runs first,
    and comes back on uninstall. core.hooksPath and linked worktrees are respected.
    """


def _explicit(config_path: str | None) -> str | None:
    if config_path is not None:
        return config_path
    root = click.get_current_context().find_root()
    return root.obj.get("config_path") if isinstance(root.obj, dict) else None


def _project(config_path: str | None) -> GitProject:
    from gitmig.commands.common import load
    from gitmig.git.snapshot import GitProject

    return GitProject(load(config_path))


@command.command("install", short_help="Install the hooks, or update them.")
@config_option
def install(config_path: str | None) -> None:
    """Install the hooks (again: updates them; already installed: changes nothing)."""
    import sys

    from gitmig import console
    from gitmig.hooks import install as githooks
    project = _project(config_path)
    for line in githooks.install(project):
        console.say(line)
    console.say(f"The hooks run {sys.executable} (git config {githooks.PYTHON_SETTING}).")


@command.command("uninstall", short_help="Remove the hooks; put back the ones they replaced.")
@config_option
def uninstall(config_path: str | None) -> None:
    """Remove gitmig's hooks and put back the hooks they replaced."""
    from gitmig import console
    from gitmig.hooks import install as githooks
    project = _project(config_path)
    for line in githooks.uninstall(project):
        console.say(line)


@command.command("status", short_help="Say which hooks are installed.")
@config_option
def status(config_path: str | None) -> None:
    """Say, per hook: installed, not installed, or a foreign hook is present."""
    from gitmig import console, hints
    from gitmig.hooks import install as githooks
    project = _project(config_path)
    states = githooks.status(project)
    console.say(f"hooks folder: {states[0].path.parent}")
    for s in states:
        console.say(s.describe())
    python = githooks.recorded_python(project)
    if python and any(s.state != githooks.NOT_INSTALLED for s in states):
        missing = "" if Path(python).exists() else f" (missing: {hints.HOOKS_INSTALL} again)"
        console.say(f"python: {python}{missing}")


@command.command("run", short_help="Run one hook's check now.")
@click.argument("hook", type=click.Choice(HOOK_NAMES), metavar="HOOK")
@click.argument("args", nargs=-1)
@config_option
def run(hook: str, args: tuple[str, ...], config_path: str | None) -> None:
    """Run one hook's check now (the hook scripts and the pre-commit framework call this).

    HOOK is pre-commit, post-merge or post-checkout; ARGS are what git passes the hook.
    pre-commit exits 1 when the commit must be refused; the others only warn.
    """
    if hook == "pre-commit":
        _pre_commit(_explicit(config_path))
    else:
        _warn_after(hook, args, _explicit(config_path))


def _pre_commit(explicit: str | None) -> None:
    from gitmig.hooks.precommitrun import run as pre_commit

    pre_commit(explicit)


def _warn_after(hook: str, args: tuple[str, ...], explicit: str | None) -> None:
    from gitmig import console
    from gitmig.errors import GitmigError
    from gitmig.hooks.install import applied_but_missing_warnings, conflict_warnings, hook_config

    if hook == "post-checkout" and (len(args) == 3 and (args[2] == "0" or args[0] == args[1])):
        return  # a file checkout, or no change of commit
    try:
        config = hook_config(Path.cwd(), explicit)
    except GitmigError:
        return  # e.g. a branch from before gitmig was set up: nothing to say
    try:
        rev = "HEAD" if hook == "post-merge" else None  # the merge result itself
        previous = (args[0] if len(args) == 3 else None) if hook == "post-checkout" \
            else "ORIG_HEAD"  # the commit before: did this take migration files away?
        warnings = (conflict_warnings(config, rev)
                    + applied_but_missing_warnings(config, previous))
    except GitmigError as exc:
        warnings = [exc.render()]
    for w in warnings:
        console.err().print(f"gitmig: warning: {w}", style="yellow", markup=False)
