"""Migration files read into a graph without running them, and every way that can fail."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gitmig.config import load_config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import MigrationFile, MigrationGraph
from gitmig.migrations.loader import load_graph, parse_migration

from .conftest import assert_refused
from .replaying import write_models

POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
"""

EMPTY = '''"""{doc}"""
from gitmig import ops

parents = {parents}
operations: list[ops.Operation] = []
'''


def migration(project: Any, name: str, parents: str, app: str = "blog", doc: str = "x") -> str:
    rel = f"{app}/migrations/{name}.py"
    project.write(rel, EMPTY.format(parents=parents, doc=doc))
    return rel


def refused(project: Any, *args: str) -> str:
    """makemigrations fails with exit 2, one error line, and leaves every file as it was."""
    write_models(project, POST)
    before = project.snapshot()
    result = project.gitmig("makemigrations", "--no-input", *args)
    return assert_refused(result, before, project.snapshot())[len("gitmig: error: "):]


def where(project: Any, rel: str, line: int | None = None) -> str:
    """How an error names a file: its full path, then the line where there is one."""
    path = project.root / rel
    return f"{path}:{line}: " if line else f"{path}: "


def test_syntax_error_names_file_and_line(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    rel = "blog/migrations/0002_broken.py"
    project.write(rel, 'parents = ["0001_initial"]\noperations = [\n    ops.DropTable("x"\n')
    message = refused(project)
    assert message.startswith(where(project, rel, 3) + "syntax error: ")


def test_missing_parent_names_file_and_line(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    rel = migration(project, "0002_next", '["0001_inital"]')
    message = refused(project)
    assert message == (
        where(project, rel, 4) + "parent 0001_inital does not exist; restore it or fix `parents`"
    )


def test_cycle_names_the_migrations_in_it(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    a = migration(project, "0002_a", '["0001_initial", "0003_b"]')
    b = migration(project, "0003_b", '["0002_a"]')
    message = refused(project)
    assert message.startswith((where(project, a, 4), where(project, b, 4)))
    assert "migrations depend on each other in a cycle: " in message
    assert ("blog.0002_a -> blog.0003_b -> blog.0002_a" in message) or (
        "blog.0003_b -> blog.0002_a -> blog.0003_b" in message
    )
    assert message.endswith("; fix `parents` in one of them")


def test_a_migration_that_is_its_own_parent_is_a_cycle(project: Any) -> None:
    rel = migration(project, "0001_initial", '["0001_initial"]')
    message = refused(project)
    assert message.startswith(where(project, rel, 4))
    assert "blog.0001_initial -> blog.0001_initial" in message


def test_names_that_differ_only_in_case_collide(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    upper = migration(project, "0002_Foo", '["0001_initial"]')
    lower = migration(project, "0002_foo", '["0001_initial"]')
    message = refused(project)
    assert message == (
        "two migrations of app 'blog' have the same name but for case: "
        f"{project.root / upper} and {project.root / lower}; "
        "rename or remove one of them"
    )


def test_parent_in_an_unknown_app_names_file_and_line(project: Any) -> None:
    rel = migration(project, "0001_initial", '["shop.0001_initial"]')
    message = refused(project)
    assert message == where(project, rel, 4) + (
        "parent shop.0001_initial is in app 'shop', which is not configured (apps: blog)"
    )


def test_parent_missing_in_another_configured_app(project: Any) -> None:
    project.write("pyproject.toml", """
    [tool.gitmig]
    [tool.gitmig.apps]
    blog = "blog.models"
    shop = "shop.models"
    """)
    project.write("shop/__init__.py", "")
    write_models(project, "", app="shop")
    rel = migration(project, "0001_initial", '["shop.0001_initial"]')
    message = refused(project, "blog")
    assert message == (
        where(project, rel, 4)
        + "parent shop.0001_initial does not exist; restore it or fix `parents`"
    )


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("operations = []\n", None, "no `parents = [...]` at the top level"),
        ('parents = "0001"\noperations = []\n', 1, "`parents` must be a list of migration names"),
        ("parents = [1]\noperations = []\n", 1, "`parents` must hold only migration names"),
        ("parents = []\n", None, "no `operations = [...]` at the top level"),
    ],
    ids=["no_parents", "parents_not_list", "parents_not_names", "no_operations"],
)
def test_malformed_migration_is_refused(
    project: Any, text: str, line: int | None, message: str
) -> None:
    rel = "blog/migrations/0001_initial.py"
    project.write(rel, text)
    assert refused(project).startswith(where(project, rel, line) + message)


def test_several_leaves_are_refused_with_what_to_do(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    migration(project, "0002_a", '["0001_initial"]')
    migration(project, "0002_b", '["0001_initial"]')
    write_models(project, POST)
    before = project.snapshot()
    result = project.gitmig("makemigrations", "--no-input")
    assert result.exit_code == 1, result.output  # a conflict is a failed check
    assert project.snapshot() == before
    assert result.stderr == (
        "gitmig: app 'blog' has conflicting migrations, several are latest (0002_a, 0002_b)\n"
        "hint: run `gitmig resolve blog` (renumbers this branch's new migrations after the "
        "other branch's; `--strategy merge` writes a merge migration instead)\n")


def test_operation_that_fails_on_replay_names_the_file(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    rel = "blog/migrations/0002_drop.py"
    project.write(rel, 'from gitmig import ops\n\nparents = ["0001_initial"]\noperations = [\n'
                       '    ops.RunSQL("SELECT 1"),\n    ops.DropTable("ghost"),\n]\n')
    message = refused(project)
    assert message == where(project, rel, 6) + (
        "cannot drop table: table 'ghost' does not exist at this point of the history"
    )


def test_error_raised_while_importing_a_migration_names_file_and_line(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    rel = "blog/migrations/0002_bad.py"
    project.write(rel, 'import sqlalchemy as sa\n\nparents = ["0001_initial"]\n'
                       "operations = [undefined_name]\n")
    message = refused(project)
    assert message == where(project, rel, 4) + (
        "cannot import migration: NameError: name 'undefined_name' is not defined"
    )


def test_operations_must_be_gitmig_operations(project: Any) -> None:
    rel = "blog/migrations/0001_initial.py"
    project.write(rel, 'parents = []\noperations = [\n    "DROP TABLE post",\n]\n')
    message = refused(project)
    assert message == where(project, rel, 3) + (
        "`operations` holds 'DROP TABLE post', which is not a gitmig operation"
    )


# -- reading without running -------------------------------------------------------------------


def test_the_graph_is_read_without_running_any_file(project: Any, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    project.write("blog/migrations/0001_initial.py", f"""
    open({str(marker)!r}, "w").close()
    raise SystemExit("this file must not run")
    parents = []
    operations = []
    """)
    project.write("blog/migrations/0002_next.py", f"""
    open({str(marker)!r}, "w").close()
    parents = ["0001_initial"]
    operations = []
    """)
    graph = load_graph(load_config(project.root / "pyproject.toml"))
    assert graph.order() == [("blog", "0001_initial"), ("blog", "0002_next")]
    assert graph.leaves("blog") == [("blog", "0002_next")]
    assert not marker.exists()


def test_files_that_are_not_migrations_are_ignored(project: Any) -> None:
    migration(project, "0001_initial", "[]")
    project.write("blog/migrations/__init__.py", "raise SystemExit\n")
    project.write("blog/migrations/helpers.py", "this is not python")
    project.write("blog/migrations/0002_notes.txt", "nor this")
    graph = load_graph(load_config(project.root / "pyproject.toml"))
    assert list(graph.nodes) == [("blog", "0001_initial")]


def test_checksum_covers_operations_not_names_parents_or_formatting() -> None:
    a = parse_migration("blog", "0002_a", 'parents = ["0001_initial"]\noperations = [ops.X(1)]\n',
                        "a.py")
    b = parse_migration("blog", "0003_b", '"""doc"""\nparents = ["0002_z"]\noperations = [\n'
                        "    ops.X( 1 ),\n]\n", "b.py")
    c = parse_migration("blog", "0002_a", 'parents = ["0001_initial"]\noperations = [ops.X(2)]\n',
                        "c.py")
    assert a.checksum == b.checksum
    assert a.checksum != c.checksum


def test_parents_in_other_apps_are_read_as_app_and_name() -> None:
    f = parse_migration("blog", "0002_x", 'parents = ["0001_initial", "shop.0003_y"]\n'
                        "operations = []\n", "x.py")
    assert f.parents == (("blog", "0001_initial"), ("shop", "0003_y"))
    assert f.parents_line == 1


# -- the graph, pure ---------------------------------------------------------------------------


def node(app: str, name: str, *parents: str) -> MigrationFile:
    keys = tuple((p.split(".")[0], p.split(".")[1]) if "." in p else (app, p) for p in parents)
    return MigrationFile(app, name, keys, f"{app}/{name}.py", 1, "")


def test_order_puts_parents_first_and_is_stable() -> None:
    graph = MigrationGraph(
        [
            node("blog", "0002_b", "0001_a", "shop.0001_s"),
            node("shop", "0001_s"),
            node("blog", "0001_a"),
            node("shop", "0002_t", "0001_s"),
        ],
        ["blog", "shop"],
    )
    order = graph.order()
    assert order.index(("shop", "0001_s")) < order.index(("blog", "0002_b"))
    assert order.index(("blog", "0001_a")) < order.index(("blog", "0002_b"))
    assert order[0] == ("blog", "0001_a")
    assert graph.leaf("blog") == ("blog", "0002_b")
    assert graph.leaf("shop") == ("shop", "0002_t")
    assert graph.next_number("blog") == 3
    assert graph.next_number("nothing") == 1
    assert graph.ancestors(("blog", "0002_b")) == {
        ("blog", "0002_b"), ("blog", "0001_a"), ("shop", "0001_s")
    }


def test_resolve_by_prefix() -> None:
    graph = MigrationGraph(
        [node("blog", "0001_a"), node("blog", "0002_b", "0001_a"), node("blog", "0002_c",
                                                                       "0001_a")],
        ["blog"],
    )
    assert graph.resolve("blog", "0001") == ("blog", "0001_a")
    with pytest.raises(GitmigError, match="matches several migrations"):
        graph.resolve("blog", "0002")
    with pytest.raises(GitmigError, match="has no migration '0009'"):
        graph.resolve("blog", "0009")
