"""gitmig init"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gitmig.actions.init import AppSpec


@click.command("init")
@click.option("--app", "apps", multiple=True, metavar="LABEL=MODULE",
              help="An app and its models module, e.g. blog=blog.models (repeatable).")
@click.option("--database", default=None, metavar="URL",
              help="Database URL to write (default: sqlite:///db.sqlite3).")
@click.option("--no-input", is_flag=True, help="Never ask; use --app or the models found.")
@click.option("--path", "folder", default=".", type=click.Path(file_okay=False),
              help="Project folder holding (or to hold) pyproject.toml.")
def command(apps: tuple[str, ...], database: str | None, no_input: bool, folder: str) -> None:
    """Write [tool.gitmig] to pyproject.toml and create the migrations folders.

    Without --app, looks for models.py files below the project folder and, on a
    terminal, asks which to use. An existing [tool.gitmig] section is never changed.
    """
    from gitmig import console
    from gitmig.actions import init as scaffold

    root = Path(folder).resolve()
    specs = [scaffold.parse_app(a) for a in apps]
    if not specs:
        specs = scaffold.discover(root)
        if console.is_interactive() and not no_input:
            specs = _ask(specs)
    created = scaffold.init_project(root, specs, database or scaffold.DEFAULT_DATABASE)
    console.say(f"Wrote [tool.gitmig] to {root / 'pyproject.toml'}:")
    for s in specs:
        console.say(f"  {s.label} = {s.models}")
    for path in created:
        console.say(f"Created {path}")
    for warning in scaffold.apps_without_tables(root):
        console.warn(warning)
    console.say("Next: run `gitmig makemigrations` to write the first migrations.")


def _ask(found: list[AppSpec]) -> list[AppSpec]:
    from gitmig.actions import init as scaffold

    specs = list(found)
    if specs:
        listing = ", ".join(f"{s.label}={s.models}" for s in specs)
        if click.confirm(f"Found models: {listing}. Configure these apps?", default=True):
            return specs
        specs = []
    while True:
        raw = click.prompt("App as LABEL=module (empty to finish)", default="",
                           show_default=False)
        if not raw.strip():
            return specs
        specs.append(scaffold.parse_app(raw))
