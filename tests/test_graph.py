"""`gitmig graph`: the migration graph drawn as lanes, as Mermaid, as dot, as JSON.

The terminal pictures are text snapshots written out below: read them as a user reads the
command's output. Migrations are written by hand (the graph is read from `parents`, never
by running a file), so every shape — merges, forks, cross-app parents, other branches —
is made exactly.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from .conftest import Project, Result, assert_refused
from .gitrepo import Repo
from .mermaid_grammar import flowchart

PYPROJECT = """
[project]
name = "proj"

[tool.gitmig]
database = "sqlite:///db.sqlite3"
lockfile = false

[tool.gitmig.apps]
accounts = "accounts.models"
shop = "shop.models"
"""

MODELS = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass
"""


def migration(project: Project, app: str, name: str, *parents: str) -> None:
    """A migration that does nothing but has the given parents (`0001_x` or `app.0001_x`)."""
    project.write(f"{app}/migrations/{name}.py", f'''
        """{name}"""
        from gitmig import ops

        parents = {list(parents)!r}
        operations = [ops.RunSQL("SELECT 1", reverse_sql="SELECT 1")]
        ''')


def shop_project(root: Path) -> Project:
    project = Repo(root, root.parent / "home")
    project.write("pyproject.toml", PYPROJECT)
    project.write(".gitignore", "*.sqlite3\n__pycache__/\n")
    for app in ("accounts", "shop"):
        project.write(f"{app}/__init__.py", "")
        project.write(f"{app}/models.py", MODELS)
        project.write(f"{app}/migrations/__init__.py", "")
    return project


def merged_history(project: Project) -> None:
    """accounts: 0001 <- 0002. shop: 0001 (needs accounts.0001), two 0002s from it, merged
    by 0003, then 0004 (needs accounts.0002)."""
    migration(project, "accounts", "0001_initial")
    migration(project, "accounts", "0002_user_add_email", "0001_initial")
    migration(project, "shop", "0001_initial", "accounts.0001_initial")
    migration(project, "shop", "0002_product_add_sku", "0001_initial")
    migration(project, "shop", "0002_order_add_note", "0001_initial")
    migration(project, "shop", "0003_merge", "0002_order_add_note", "0002_product_add_sku")
    migration(project, "shop", "0004_order_add_total", "0003_merge",
              "accounts.0002_user_add_email")


def picture(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def ok(project: Project, *args: str) -> Result:
    result = project.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture
def shop(tmp_path: Path) -> Repo:
    project = shop_project(tmp_path / "proj")
    assert isinstance(project, Repo)
    return project


def test_merges_and_cross_app_parents_are_drawn_in_lanes(shop: Repo) -> None:
    merged_history(shop)
    assert ok(shop, "graph", "--no-database").stdout == picture("""
          *    shop.0004_order_add_total  (after accounts.0002_user_add_email)
          *    shop.0003_merge  (merge)
          |\\
          | *  shop.0002_product_add_sku
          * |  shop.0002_order_add_note
        * | |  accounts.0002_user_add_email
        | |/
        | *    shop.0001_initial  (after accounts.0001_initial)
        *      accounts.0001_initial
        """)


def test_applied_migrations_are_marked_from_the_configured_database(shop: Repo) -> None:
    merged_history(shop)
    ok(shop, "migrate", "accounts")
    assert ok(shop, "graph").stdout == picture("""
          *    [ ] shop.0004_order_add_total  (after accounts.0002_user_add_email)
          *    [ ] shop.0003_merge  (merge)
          |\\
          | *  [ ] shop.0002_product_add_sku
          * |  [ ] shop.0002_order_add_note
        * | |  [X] accounts.0002_user_add_email
        | |/
        | *    [ ] shop.0001_initial  (after accounts.0001_initial)
        *      [X] accounts.0001_initial
        """)


def test_one_app_is_drawn_with_the_migrations_of_other_apps_it_needs(shop: Repo) -> None:
    migration(shop, "accounts", "0001_initial")
    migration(shop, "accounts", "0002_user_add_email", "0001_initial")
    migration(shop, "shop", "0001_initial", "accounts.0001_initial")
    assert ok(shop, "graph", "shop", "--no-database").stdout == picture("""
          *  shop.0001_initial  (after accounts.0001_initial)
        *    accounts.0001_initial
        """)
    assert ok(shop, "graph", "accounts", "--no-database").stdout == picture("""
        *  accounts.0002_user_add_email
        *  accounts.0001_initial
        """)


def test_two_latest_migrations_show_as_a_fork(shop: Repo) -> None:
    migration(shop, "shop", "0001_initial")
    migration(shop, "shop", "0002_a", "0001_initial")
    migration(shop, "shop", "0002_b", "0001_initial")
    assert ok(shop, "graph", "--no-database").stdout == picture("""
          *    shop.0002_b
          | *  shop.0002_a
          |/
          *    shop.0001_initial
        """)


def three_branches(shop: Repo) -> None:
    """main: accounts 0001-0002, shop 0001-0002, committed. Branch `orders` adds
    shop.0003_order_add_note, `catalog` adds shop.0003_product_add_sku and
    accounts.0003_user_add_phone, and main itself goes on with accounts.0003_user_add_name."""
    migration(shop, "accounts", "0001_initial")
    migration(shop, "accounts", "0002_user_add_email", "0001_initial")
    migration(shop, "shop", "0001_initial", "accounts.0001_initial")
    migration(shop, "shop", "0002_order_add_total", "0001_initial")
    shop.git("init", "-q", "-b", "main")
    assert shop.commit(message="initial").exit_code == 0
    shop.git("checkout", "-q", "-b", "orders")
    migration(shop, "shop", "0003_order_add_note", "0002_order_add_total")
    assert shop.commit(message="note").exit_code == 0
    shop.git("checkout", "-q", "-b", "catalog", "main")
    migration(shop, "shop", "0003_product_add_sku", "0002_order_add_total")
    migration(shop, "accounts", "0003_user_add_phone", "0002_user_add_email")
    assert shop.commit(message="sku").exit_code == 0
    shop.git("checkout", "-q", "main")
    migration(shop, "accounts", "0003_user_add_name", "0002_user_add_email")
    assert shop.commit(message="name").exit_code == 0


def test_other_branches_migrations_are_drawn_on_their_own_lanes(shop: Repo) -> None:
    three_branches(shop)
    # Each app's first column is this branch's history; catalog and orders both build on
    # shop.0002 (a conflict coming with the second merge), catalog and main on accounts.0002.
    assert ok(shop, "graph", "--all-branches", "--no-database").stdout == picture("""
              *    shop.0003_order_add_note  (on orders)
              | *  shop.0003_product_add_sku  (on catalog)
          *   | |  accounts.0003_user_add_phone  (on catalog)
        * |   | |  accounts.0003_user_add_name
        | |  / /
        | | |/
        | | *      shop.0002_order_add_total
        |/  |
        *   |      accounts.0002_user_add_email
        |   *      shop.0001_initial  (after accounts.0001_initial)
        *          accounts.0001_initial
        """)
    # One branch, one app: only that branch's migrations, forking off this branch's.
    assert ok(shop, "graph", "shop", "--against", "orders", "--no-database").stdout == picture("""
            *  shop.0003_order_add_note  (on orders)
           /
          *    shop.0002_order_add_total
          *    shop.0001_initial  (after accounts.0001_initial)
        *      accounts.0001_initial
        """)


def test_json_lists_every_migration_with_its_lane_facts(shop: Repo) -> None:
    three_branches(shop)
    ok(shop, "migrate", "accounts", "0001")
    data = json.loads(ok(shop, "graph", "--against", "catalog", "--json").stdout)
    assert data["apps"] == ["accounts", "shop"]
    assert data["branches"] == ["catalog"]
    assert data["database"].endswith("db.sqlite3")
    by_id = {m["id"]: m for m in data["migrations"]}
    assert by_id["accounts.0001_initial"]["applied"] is True
    assert by_id["accounts.0002_user_add_email"]["applied"] is False
    assert by_id["catalog:shop.0003_product_add_sku"] == {
        "id": "catalog:shop.0003_product_add_sku", "app": "shop",
        "name": "0003_product_add_sku", "parents": ["shop.0002_order_add_total"],
        "applied": None, "branch": "catalog", "merge": False, "replaces": [],
    }
    # Parents before children.
    ids = [m["id"] for m in data["migrations"]]
    assert ids.index("shop.0001_initial") > ids.index("accounts.0001_initial")


def test_mermaid_output_parses_and_holds_the_graph(shop: Repo) -> None:
    three_branches(shop)
    ok(shop, "migrate", "accounts", "0001")
    text = ok(shop, "graph", "--format", "mermaid", "--against", "orders").stdout
    chart = flowchart(text)
    labels = {label: node for node, label in chart.nodes.items()}
    assert set(labels) == {
        "[X] accounts.0001_initial", "[ ] accounts.0002_user_add_email",
        "[ ] accounts.0003_user_add_name", "[ ] shop.0001_initial",
        "[ ] shop.0002_order_add_total", "shop.0003_order_add_note (on orders)",
    }
    assert [label for label in chart.groups] == ["accounts", "shop"]
    cross = (labels["[X] accounts.0001_initial"], "-.->", labels["[ ] shop.0001_initial"])
    assert cross in chart.edges
    assert (labels["[ ] shop.0002_order_add_total"], "-->",
            labels["shop.0003_order_add_note (on orders)"]) in chart.edges
    assert chart.classes["applied"] == {labels["[X] accounts.0001_initial"]}
    assert chart.classes["branch"] == {labels["shop.0003_order_add_note (on orders)"]}


def test_dot_output_renders_with_graphviz(shop: Repo, tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (.ci/run installs it)")
    merged_history(shop)
    text = ok(shop, "graph", "--format", "dot", "--no-database").stdout
    svg = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True,
                         check=True).stdout
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for name in ("shop.0003_merge (merge)", "accounts.0002_user_add_email", "shop"):
        assert f">{name}</text>" in svg
    assert text.count("style=dashed") == 2  # the two cross-app parents


def test_bad_input_is_refused(shop: Repo) -> None:
    three_branches(shop)
    before = shop.snapshot()
    message = assert_refused(shop.gitmig("graph", "--against", "nope"), before, shop.snapshot())
    assert "unknown revision 'nope'" in message
    assert "app 'nope'" in assert_refused(shop.gitmig("graph", "nope"))
    assert "either --json or --format" in assert_refused(
        shop.gitmig("graph", "--json", "--format", "dot"))
    assert "either --against REF or --all-branches" in assert_refused(
        shop.gitmig("graph", "--against", "main", "--all-branches"))


def test_no_migrations_says_so(shop: Repo) -> None:
    assert ok(shop, "graph").stdout == "(no migrations)\n"


def test_a_migration_this_branch_already_holds_is_not_drawn_again(shop: Repo) -> None:
    three_branches(shop)
    shop.git("cherry-pick", "orders")  # main now holds orders' migration, as its own commit
    shown = ok(shop, "graph", "shop", "--against", "orders", "--no-database").stdout
    assert "(on orders)" not in shown
    assert "*  shop.0003_order_add_note\n" in shown


def test_an_unreachable_database_is_refused_with_the_way_round_it(shop: Repo) -> None:
    merged_history(shop)
    result = shop.gitmig("graph", "--database", "postgresql://u:secret@127.0.0.1:1/x")
    message = assert_refused(result)
    assert "cannot connect to the database postgresql://u:***@127.0.0.1:1/x" in message
    assert "secret" not in result.output
    assert result.stderr.splitlines()[-1] == (
        "hint: `gitmig graph --no-database` draws the graph without [X] marks")


def test_a_squash_is_drawn_with_what_it_stands_for_until_it_is_finished(shop: Repo) -> None:
    migration(shop, "accounts", "0001_initial")
    migration(shop, "accounts", "0002_user_add_email", "0001_initial")
    migration(shop, "accounts", "0003_name", "0002_user_add_email")
    migration(shop, "shop", "0001_initial", "accounts.0002_user_add_email")
    ok(shop, "squash", "accounts", "0003", "--keep-data-migrations")
    assert ok(shop, "graph", "--no-database").stdout == picture("""
          *  shop.0001_initial  (after accounts.0001_squashed_0003_name)
        *    accounts.0001_squashed_0003_name  (squash of 0001_initial to 0003_name)
        """)
    mermaid = ok(shop, "graph", "--format", "mermaid", "--no-database").stdout
    assert "(squash of 0001_initial to 0003_name)" in mermaid
    flowchart(mermaid)
    listed = json.loads(ok(shop, "graph", "--json", "--no-database").stdout)["migrations"]
    assert listed[0]["replaces"] == ["accounts.0001_initial", "accounts.0002_user_add_email",
                                     "accounts.0003_name"]
    ok(shop, "migrate")
    ok(shop, "squash", "--finish", "accounts")
    assert ok(shop, "graph").stdout == picture("""
          *  [X] shop.0001_initial  (after accounts.0001_squashed_0003_name)
        *    [X] accounts.0001_squashed_0003_name
        """)
