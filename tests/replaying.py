"""What a project's migrations replay to, next to what its models say.

Shared by the makemigrations tests: "in sync" is the promise makemigrations makes.
"""

from __future__ import annotations

import textwrap
from typing import Any

from gitmig.config import load_config
from gitmig.migrations.loader import load_graph
from gitmig.migrations.replay import Replayer
from gitmig.schema.models import models_state
from gitmig.schema.state import SchemaState

HEADER = """\
import datetime
import enum

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass
"""


def write_models(project: Any, body: str, app: str = "blog", header: str = HEADER) -> None:
    """blog/models.py as the header (a declarative Base) plus the given classes."""
    project.write(f"{app}/models.py", header + "\n" + textwrap.dedent(body).strip("\n") + "\n")


def states(project: Any) -> tuple[SchemaState, SchemaState]:
    """(replayed from the migration files, declared by the models)."""
    config = load_config(project.root / "pyproject.toml")
    return Replayer(load_graph(config)).state(), models_state(config)


def assert_in_sync(project: Any) -> None:
    """The migrations replay to exactly the models, and makemigrations agrees."""
    replayed, wanted = states(project)
    assert replayed == wanted, _difference(replayed, wanted)
    result = project.gitmig("makemigrations", "--check", "--no-input")
    assert result.exit_code == 0, result.output
    assert "No changes detected" in result.stdout


def _difference(got: SchemaState, want: SchemaState) -> str:
    lines = []
    for key in sorted(set(got.tables) | set(want.tables)):
        if got.get(key) != want.get(key):
            lines.append(f"{key}:\n  replayed {got.get(key)}\n  models   {want.get(key)}")
    return "\n".join(lines)
