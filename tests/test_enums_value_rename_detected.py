"""An enum value renamed in the models: makemigrations asks, as Django asks about a field.

When one value of an enum disappears and another appears, a terminal is asked
`Did you rename enum ticket_state value 'shut' to 'closed'? [y/N]`; a script answers with
`--rename-enum-value ticket_state.shut=closed`. Without an answer (`--no-input`, no
terminal) it is a value removed and one added, never a guessed rename. A rename writes
`ops.AlterEnum(..., renames={"shut": "closed"})`, and rows holding the old value hold
the new one afterwards, on SQLite, PostgreSQL and MariaDB.
"""

from __future__ import annotations

import pytest

from .conftest import BASE, Project, assert_refused
from .constraint_story import assert_empty_after_zero, execute
from .terminal import run_in_terminal

MODELS = BASE + '''

class Ticket(Base):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.Enum({values}, name="ticket_state"))
'''

BEFORE = MODELS.format(values='"open", "shut", "lost"')
AFTER = MODELS.format(values='"open", "closed", "lost"')
RENAMED = 'renames={"shut": "closed"}'


def _second(project: Project) -> str:
    return project.read(f"blog/migrations/{project.migrations('blog')[1]}")


def _start(project: Project) -> None:
    project.write("blog/models.py", BEFORE)
    made = project.gitmig("makemigrations")
    assert made.exit_code == 0, made.output
    project.write("blog/models.py", AFTER)


def test_the_flag_writes_a_rename(project: Project) -> None:
    _start(project)
    made = project.gitmig("makemigrations", "--no-input",
                          "--rename-enum-value", "ticket_state.shut=closed")
    assert made.exit_code == 0, made.output
    assert "Set the values of enum type ticket_state: open, closed, lost" in made.output
    assert RENAMED in _second(project)
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 0, check.output


def test_no_input_without_the_flag_removes_and_adds(project: Project) -> None:
    _start(project)
    made = project.gitmig("makemigrations", "--no-input")
    assert made.exit_code == 0, made.output
    text = _second(project)
    assert 'ops.AlterEnum("ticket_state", ["open", "closed", "lost"])' in text
    assert "renames" not in text


def test_an_answer_naming_another_value_is_no_rename_and_is_refused(project: Project) -> None:
    _start(project)
    before = project.snapshot()
    refused = project.gitmig("makemigrations", "--no-input",
                             "--rename-enum-value", "ticket_state.shut=won")
    line = assert_refused(refused, before, project.snapshot())
    assert "--rename-enum-value ticket_state.shut=won matches no change" in line


def test_a_malformed_answer_is_refused(project: Project) -> None:
    _start(project)
    before = project.snapshot()
    refused = project.gitmig("makemigrations", "--rename-enum-value", "shut=closed")
    line = assert_refused(refused, before, project.snapshot())
    assert "expected ENUM.OLD=NEW" in line


@pytest.mark.slow  # a question on a pseudo-terminal: the full run only
def test_the_terminal_is_asked(project: Project) -> None:
    _start(project)
    code, out = run_in_terminal(
        ["makemigrations"], project.root,
        [("Did you rename enum ticket_state value 'shut' to 'closed'? [y/N]", "y")],
    )
    assert code == 0, out
    assert RENAMED in _second(project)


@pytest.mark.slow  # questions on a pseudo-terminal: the full run only
def test_the_terminal_answered_no_removes_and_adds(project: Project) -> None:
    project.write("blog/models.py", MODELS.format(values='"open", "shut", "lost"'))
    assert project.gitmig("makemigrations").exit_code == 0
    project.write("blog/models.py", MODELS.format(values='"open", "closed", "won"'))
    code, out = run_in_terminal(
        ["makemigrations"], project.root,
        [("Did you rename enum ticket_state value 'shut' to 'closed'? [y/N]", "n"),
         ("Did you rename enum ticket_state value 'shut' to 'won'? [y/N]", "n"),
         ("Did you rename enum ticket_state value 'lost' to 'closed'? [y/N]", "n"),
         ("Did you rename enum ticket_state value 'lost' to 'won'? [y/N]", "y")],
    )
    assert code == 0, out
    assert 'renames={"lost": "won"}' in _second(project)


FIXTURES = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}


@pytest.mark.parametrize("db", [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.slow),
    pytest.param("mysql", marks=pytest.mark.slow),
])
def test_rows_keep_their_value(project: Project, request: pytest.FixtureRequest,
                               db: str) -> None:
    url = str(request.getfixturevalue(FIXTURES[db]))
    project.write("blog/models.py", BEFORE)
    assert project.gitmig("makemigrations").exit_code == 0
    assert project.gitmig("migrate", "--database", url).exit_code == 0
    execute(url, "INSERT INTO ticket (id, state) VALUES (1, 'shut'), (2, 'open')")
    project.write("blog/models.py", AFTER)
    made = project.gitmig("makemigrations", "--no-input",
                          "--rename-enum-value", "ticket_state.shut=closed")
    assert made.exit_code == 0, made.output
    done = project.gitmig("migrate", "--database", url)
    assert done.exit_code == 0, done.output
    rows = execute(url, "SELECT id, state FROM ticket ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "closed"), (2, "open")]
    back = project.gitmig("migrate", "blog", "0001", "--database", url)
    assert back.exit_code == 0, back.output
    rows = execute(url, "SELECT id, state FROM ticket ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "shut"), (2, "open")]
    assert_empty_after_zero(project, url)
