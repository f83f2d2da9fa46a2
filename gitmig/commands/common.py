"""Options and helpers shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from gitmig.config import Config

F = TypeVar("F", bound=Callable[..., Any])


def config_option(f: F) -> F:
    return click.option(
        "--config",
        "config_path",
        metavar="PATH",
        default=None,
        help="pyproject.toml holding [tool.gitmig] (default: nearest one upwards).",
    )(f)


def load(config_path: str | None) -> Config:
    from gitmig.config import load_config

    if config_path is None:
        ctx = click.get_current_context(silent=True)
        root = ctx.find_root() if ctx else None
        if root is not None and isinstance(root.obj, dict):
            config_path = root.obj.get("config_path")
    config = load_config(config_path)
    finish_interrupted(config)
    return config


def finish_interrupted(config: Config) -> None:
    """A multi-file change a killed command left half-done is finished (or undone) before
    anything else reads the project (gitmig.git.projectlock); said in one line."""
    from gitmig.git.projectlock import recover, sweep_leftovers

    line = recover(config.root)
    if line is not None:
        click.echo(f"gitmig: {line}", err=True)
    from gitmig.migrations.statecache import cache_dir

    sweep_leftovers(config.root, [app.migrations for app in config.apps.values()], [cache_dir()])
