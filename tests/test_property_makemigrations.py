"""Random model evolutions through makemigrations: the files always replay to the models."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings

from .conftest import Project
from .replaying import states
from .richer_models import Step, evolutions_with_answers
from .strategies import evolutions

pytestmark = pytest.mark.slow  # random evolutions, many makemigrations runs

_counter = itertools.count()
# Each example is a few real makemigrations runs; twice the profile's count (50 on CI)
# keeps the file to seconds locally and about 20 s on CI (four times cost 43 s there).
EXAMPLES = settings().max_examples * 2


def fresh_project(root: Path) -> Project:
    p = Project(root / f"p{next(_counter)}")
    p.write("pyproject.toml", """
    [tool.gitmig]
    database = "sqlite:///db.sqlite3"
    [tool.gitmig.apps]
    blog = "blog.models"
    """)
    p.write("blog/__init__.py", "")
    return p


@settings(max_examples=EXAMPLES)
@given(steps=evolutions(min_steps=2, max_steps=5))
def test_every_step_replays_to_the_models_and_leaves_nothing_pending(
    tmp_path: Path, steps: list[str]
) -> None:
    project = fresh_project(tmp_path)
    for number, source in enumerate(steps, start=1):
        project.write("blog/models.py", source)
        before = set(project.migrations("blog"))
        result = project.gitmig("makemigrations", "--no-input")
        assert result.exit_code == 0, f"step {number}:\n{source}\n{result.output}"
        written = set(project.migrations("blog")) - before
        assert len(written) <= 1
        replayed, wanted = states(project)
        assert replayed == wanted, f"step {number}:\n{source}"
        again = project.gitmig("makemigrations", "--check", "--no-input")
        assert again.exit_code == 0, f"step {number}: still pending\n{again.output}"
        assert again.stdout.strip() == "No changes detected."
    # The first step always has a table, so the history starts with an initial migration.
    assert project.migrations("blog")[0] == "0001_initial.py"


@settings(max_examples=EXAMPLES)
@given(steps=evolutions_with_answers(max_steps=6))
def test_evolutions_with_renames_and_row_values_replay_to_the_models(
    tmp_path: Path, steps: list[Step]
) -> None:
    project = fresh_project(tmp_path)
    for number, s in enumerate(steps, start=1):
        source = s.models.render()
        project.write("blog/models.py", source)
        result = project.gitmig("makemigrations", "--no-input", *s.args)
        context = f"step {number} {s.args}:\n{source}\n{result.output}"
        assert result.exit_code == 0, context
        for line in s.renames:
            # Renames answered on the command line are renames, never a drop and an add.
            assert f"    + {line}\n" in result.stdout, context
            assert "destructive" not in result.stdout, context
        replayed, wanted = states(project)
        assert replayed == wanted, context
        again = project.gitmig("makemigrations", "--check", "--no-input")
        assert again.exit_code == 0, f"{context}\nstill pending:\n{again.output}"
