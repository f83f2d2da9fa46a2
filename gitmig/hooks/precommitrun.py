"""`gitmig hooks run pre-commit`: what the hook script runs, from the configuration to the
verdict, without click.

The hook runs on every commit that stages a Python file the models may read; the command
line is always the same, so gitmig.entry takes it before click and the command table are
imported (a fifth of a hook answered from the cache). `gitmig hooks run pre-commit` through
the CLI (gitmig.commands.hooks) runs this same function.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from gitmig.config import Config
from gitmig.errors import CheckFailed, GitmigError


def run(explicit: str | None) -> None:
    """Judge the index; prints what blocks the commit and raises CheckFailed then."""
    from gitmig import console
    from gitmig.hooks.install import hook_config
    from gitmig.hooks.precommit import check

    cwd = Path.cwd()
    config = hook_config(cwd, explicit)
    _finish_interrupted(config)  # an interrupted resolve or --amend, before judging
    index_file = os.environ.get("GIT_INDEX_FILE")  # git's temporary index for commit -a
    index = os.path.abspath(index_file) if index_file else None
    lines = check(config, index, cwd)
    if not lines:
        _lint_staged(config, index, cwd)
        return
    for line in lines:
        text = line if line.startswith(" ") else f"gitmig: {line}"
        style = "red" if line.startswith("    -") else None
        console.err().print(text, style=style, markup=False)
    raise CheckFailed("commit refused (see above); `git commit --no-verify` skips this check")


def _finish_interrupted(config: Config) -> None:
    """As gitmig.commands.common.finish_interrupted, whose line goes to stderr alike."""
    from gitmig.git.projectlock import recover, sweep_leftovers
    from gitmig.migrations.statecache import cache_dir

    line = recover(config.root)
    if line is not None:
        sys.stderr.write(f"gitmig: {line}\n")
        sys.stderr.flush()
    sweep_leftovers(config.root, [app.migrations for app in config.apps.values()], [cache_dir()])


def _lint_staged(config: Config, index: str | None, cwd: Path) -> None:
    """`gitmig lint` on the staged migrations: printed; blocking only what
    [tool.gitmig.lint] block names. A lint that cannot run never blocks a commit."""
    from gitmig import console, hints
    from gitmig.hooks.lintstaged import lines, lint_staged

    try:
        found = lint_staged(config, index)
    except GitmigError as exc:
        console.err().print(f"gitmig: warning: lint skipped: {exc.render()}", style="yellow",
                            markup=False)
        return
    for line in lines(found, cwd):
        console.err().print(line if line.startswith(" ") else f"gitmig: {line}", markup=False)
    if found.blocking:
        rules = ", ".join(sorted({f.rule for f in found.blocking}))
        raise CheckFailed(f"commit refused: lint found {rules}, which [tool.gitmig.lint] "
                          f"block names (see above); {hints.LINT_FIX}")


def main() -> int:
    """The whole command as gitmig.cli runs it: its errors printed as the CLI prints them
    (gitmig.cli.run), and the same exit codes."""
    try:
        run(os.environ.get("GITMIG_CONFIG") or None)  # --config's envvar, as click reads it
    except GitmigError as exc:
        prefix = "gitmig: error: " if exc.exit_code == 2 else "gitmig: "
        sys.stderr.write(f"{prefix}{exc.headline()}\n")
        if exc.hint:
            sys.stderr.write(f"hint: {exc.hint}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("gitmig: interrupted\n")
        return 130
    return 0
