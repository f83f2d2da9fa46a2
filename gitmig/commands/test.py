"""gitmig test"""

from __future__ import annotations

import click

from gitmig.commands.common import config_option, load


@click.command("test", context_settings={"ignore_unknown_options": True})
@click.option("--database", metavar="URL",
              help="Server to make the throwaway database on (default: test_database in "
                   "[tool.gitmig], else SQLite).")
@click.option("--no-check", is_flag=True,
              help="Only the stairway: leave out the models and lock file checks.")
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
@config_option
def command(database: str | None, no_check: bool, pytest_args: tuple[str, ...],
            config_path: str | None) -> int:
    """Run the stairway (apply, unapply, apply again every migration, catalogs compared) on a
    throwaway database, and check that the models and lock files agree with the migrations.

    This is gitmig's pytest plugin run on its own; further arguments go to pytest.
    """
    import os

    import pytest

    from gitmig.testing.plugin import server_url
    from gitmig.testing.stairway import scratch_database

    config = load(config_path)
    with scratch_database(server_url(config.path, database)):
        pass  # a server that cannot be reached is one line here, not a failure per item
    args = [str(config.path), "--gitmig-stairway", "--rootdir", str(config.root),
            "-p", "no:cacheprovider", "-rfs"]
    if not no_check:
        args.append("--gitmig-check")
    if database:
        args += ["--gitmig-database", database]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "gitmig.testing.plugin"]
    saved = os.environ.get("GITMIG_CONFIG")
    os.environ["GITMIG_CONFIG"] = str(config.path)  # the plugin's project, wherever run from
    try:
        code = int(pytest.main([*args, *pytest_args]))
    finally:
        if saved is None:
            del os.environ["GITMIG_CONFIG"]
        else:
            os.environ["GITMIG_CONFIG"] = saved
    if code in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        return 0
    return 1 if code == pytest.ExitCode.TESTS_FAILED else 2
