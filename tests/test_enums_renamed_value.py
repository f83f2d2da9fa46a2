"""An enum value renamed, rows kept: written by hand as `ops.AlterEnum(..., renames=...)`.

makemigrations does not guess a renamed value (rows would silently change meaning): it
asks on a terminal or takes `--rename-enum-value` (tests/test_enums_value_rename_detected.py);
a migration written by hand says the same, which old value became which new one.
"""

from __future__ import annotations

from .conftest import BASE, Project
from .constraint_story import assert_empty_after_zero, execute, metadata_of
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    reflected_schema,
    scratch_database,
)

MODELS = BASE + '''

class Ticket(Base):
    __tablename__ = "ticket"
    id: Mapped[int] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(sa.Enum({values}, name="ticket_state"))
    old_state: Mapped[str | None] = mapped_column(sa.Enum({values}, name="ticket_state"))
'''

BEFORE = MODELS.format(values='"open", "shut", "lost"')
AFTER = MODELS.format(values='"open", "closed", "lost", "won"')

RENAMING = '''"""ticket_state: shut is now closed; won added"""
from gitmig import ops

parents = ["0001_initial"]
operations = [
    ops.AlterEnum("ticket_state", ["open", "closed", "lost", "won"],
                  renames={"shut": "closed"}),
]
'''


def test_renamed_value_keeps_its_rows(project: Project, database_url: str) -> None:
    project.write("blog/models.py", BEFORE)
    assert project.gitmig("makemigrations").exit_code == 0
    assert project.gitmig("migrate", "--database", database_url).exit_code == 0
    execute(database_url, "INSERT INTO ticket (id, state, old_state) VALUES "
                          "(1, 'shut', 'open'), (2, 'open', 'shut')")
    project.write("blog/models.py", AFTER)
    project.write("blog/migrations/0002_ticket_state_rename.py", RENAMING)
    check = project.gitmig("makemigrations", "--check")
    assert check.exit_code == 0, check.output  # the file says what the models say
    done = project.gitmig("migrate", "--database", database_url)
    assert done.exit_code == 0, done.output
    rows = execute(database_url, "SELECT id, state, old_state FROM ticket ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "closed", "open"), (2, "open", "closed")]
    with scratch_database(database_url) as scratch:
        assert_same_schema(reflected_schema(database_url),
                           create_all_schema(metadata_of(project), scratch))
    back = project.gitmig("migrate", "blog", "0001", "--database", database_url)
    assert back.exit_code == 0, back.output
    rows = execute(database_url, "SELECT id, state, old_state FROM ticket ORDER BY id")
    assert [tuple(r) for r in rows] == [(1, "shut", "open"), (2, "open", "shut")]
    assert_empty_after_zero(project, database_url)
