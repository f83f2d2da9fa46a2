"""The `gitmig` entry point: the everyday `gitmig makemigrations --check` answered before
click is imported, when the state cache can answer it; the pre-commit hook's
`gitmig hooks run pre-commit` (gitmig.hooks.precommitrun) and the everyday
`gitmig showmigrations` command lines (gitmig.commands.showview) run without click;
everything else goes to gitmig.cli.

`makemigrations --check` runs on every CI build and often in editors; when the models and
migrations are as a run that compared them left them (gitmig.migrations.insync), the
answer is one line, and importing click and the command table is a third of its time.
Only the exact command line `makemigrations --check` is taken here, and only a True answer
is given here: any other case (an interrupted change to finish, a bad configuration, a
cache miss) runs the full command, whose output and exit code are the reference.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    if sys.argv[1:] == ["makemigrations", "--check"] and _nothing_pending():
        print("No changes detected.")
        sys.exit(0)
    if sys.argv[1:2] == ["showmigrations"]:
        from gitmig.commands.showview import main as show

        code = show(sys.argv[2:])
        if code is not None:
            sys.exit(code)
    if sys.argv[1:] == ["hooks", "run", "pre-commit"]:  # exactly what the hook script runs
        from gitmig.hooks.precommitrun import main as pre_commit

        sys.exit(pre_commit())
    from gitmig.cli import main as full

    full()


def _nothing_pending() -> bool:
    from gitmig.config import load_config
    from gitmig.errors import GitmigError
    from gitmig.git.projectlock import journal_path, sweep_leftovers
    from gitmig.migrations.insync import nothing_pending, unknown_asked
    from gitmig.migrations.statecache import cache_dir

    try:
        config = load_config(os.environ.get("GITMIG_CONFIG") or None)  # as --config's envvar
    except GitmigError:
        return False  # the full command says why
    journal = journal_path(config.root)
    if journal is not None and journal.exists():
        return False  # an interrupted change: the full command finishes it and says so
    sweep_leftovers(config.root, [app.migrations for app in config.apps.values()],
                    [cache_dir()])
    try:
        found = nothing_pending(config, ())
    except GitmigError:
        return False
    if found is None:
        unknown_asked(config, ())
    return found is True
