"""`gitmig erd` and `gitmig diff --erd`: the schema as an entity-relationship diagram.

The terminal pictures are text snapshots a reader can review; Mermaid output goes through
a small grammar checker (tests/mermaid_grammar.py), dot output through graphviz itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from gitmig.schema import erd, erdformats
from gitmig.schema.state import Column, ForeignKey, SchemaState, Table

from .conftest import Project, Result, assert_refused
from .gitrepo import Repo
from .mermaid_grammar import er_diagram

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "shop"


def picture(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def ok(project: Project, *args: str) -> Result:
    result = project.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result


def svg_of(dot_text: str) -> str:
    if shutil.which("dot") is None:
        pytest.skip("graphviz's dot is not installed (.ci/run installs it)")
    return subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def example(tmp_path: Path) -> Project:
    shutil.copytree(EXAMPLE, tmp_path / "shop",
                    ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"))
    return Project(tmp_path / "shop")


def test_the_example_in_the_terminal(example: Project) -> None:
    assert ok(example, "erd").stdout == picture("""
        accounts
        +- user_account ------------+
        |  PK id        Integer     |
        |  UK email     String(254) |
        |     name      String(100) |
        |     joined_at DateTime    |
        +---------------------------+

        shop
        +- order_line --------------+
        |  PK,FK order_id   Integer |
        |  PK,FK product_id Integer |
        |        quantity   Integer |
        +---------------------------+
        +- product ----------------+
        |  PK id    Integer        |
        |  UK sku   String(32)     |
        |     title String(200)    |
        |     price Numeric(10, 2) |
        +--------------------------+
        +- shop_order -----------------------+
        |  PK id          Integer            |
        |  FK customer_id Integer            |
        |     status      Enum(order_status) |
        +------------------------------------+

        Relationships
          order_line.order_id -> shop_order.id  (many to one)
          order_line.product_id -> product.id  (many to one)
          shop_order.customer_id -> user_account.id  (many to one)
        """)


def test_the_example_as_mermaid_and_dot(example: Project) -> None:
    diagram = er_diagram(ok(example, "erd", "--format", "mermaid").stdout)
    assert set(diagram.entities) == {"user_account", "product", "shop_order", "order_line"}
    assert ("Numeric", "price", (), "Numeric(10, 2)") in diagram.entities["product"]
    assert ("Integer", "order_id", ("PK", "FK"), None) in diagram.entities["order_line"]
    assert sorted(diagram.relations) == [
        ("product", "||--o{", "order_line", "product_id"),
        ("shop_order", "||--o{", "order_line", "order_id"),
        ("user_account", "||--o{", "shop_order", "customer_id"),
    ]
    svg = svg_of(ok(example, "erd", "--format", "dot").stdout)
    for name in ("user_account", "shop_order", "order_line", "product", "customer_id"):
        assert f">{name}</text>" in svg
    # One app's tables only; a key to a table left out stays an FK, without an arrow.
    shop_only = er_diagram(ok(example, "erd", "shop", "--format", "mermaid").stdout)
    assert set(shop_only.entities) == {"product", "shop_order", "order_line"}
    assert len(shop_only.relations) == 2


def test_the_committed_picture_is_the_example_and_the_readme_shows_it() -> None:
    svg = (ROOT / "docs" / "example-erd.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "</svg>" in svg
    for name in ("user_account", "shop_order", "order_line", "product", "customer_id",
                 "Enum(order_status)", "Numeric(10, 2)"):
        assert f">{name}</text>" in svg
    readme = (ROOT / "README.md").read_text()
    assert "](docs/example-erd.svg)" in readme
    assert "](docs/example-graph.svg)" in readme
    assert (ROOT / "docs" / "example-graph.svg").read_text().rstrip().endswith("</svg>")


def forty_tables(project: Project) -> None:
    """Two apps of 20 tables each; table i refers to table i // 2 (a tree), every fifth
    key is nullable, every seventh table's key is also unique (one to one)."""
    project.write("pyproject.toml", """
        [project]
        name = "big"

        [tool.gitmig]
        database = "sqlite:///db.sqlite3"

        [tool.gitmig.apps]
        sales = "sales.models"
        stock = "stock.models"
        """)
    project.write("base.py", """
        from sqlalchemy.orm import DeclarativeBase


        class Base(DeclarativeBase):
            pass
        """)
    for app, numbers in (("sales", range(20)), ("stock", range(20, 40))):
        classes = ["import sqlalchemy as sa", "from sqlalchemy.orm import Mapped, mapped_column",
                   "from base import Base", ""]
        for i in numbers:
            classes += [
                f"class T{i}(Base):",
                f"    __tablename__ = 'table_{i:02d}'",
                "    id: Mapped[int] = mapped_column(primary_key=True)",
                f"    label_{i}: Mapped[str] = mapped_column(sa.String({10 + i}))",
                "    created: Mapped[sa.DateTime] = mapped_column(sa.DateTime(timezone=True))",
            ]
            if i:
                nullable = "True" if i % 5 == 0 else "False"
                unique = "True" if i % 7 == 0 else "False"
                classes.append(
                    f"    parent_id: Mapped[int] = mapped_column(sa.ForeignKey('table_{i // 2:02d}"
                    f".id'), nullable={nullable}, unique={unique})")
            classes.append("")
        project.write(f"{app}/__init__.py", "")
        project.write(f"{app}/models.py", "\n".join(classes))


def test_a_schema_of_forty_tables(tmp_path: Path) -> None:
    project = Project(tmp_path / "big")
    forty_tables(project)
    text = ok(project, "erd").stdout
    lines = text.splitlines()
    tops = [line for line in lines if line.startswith("+- table_")]
    assert len(tops) == 40
    # Every box is closed and square: its lines are as wide as its top.
    start = 0
    for _ in range(40):
        start = next(i for i in range(start, len(lines)) if lines[i].startswith("+- "))
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("+-"))
        assert {len(line) for line in lines[start:end + 1]} == {len(lines[start])}
        assert all(line.startswith("|") for line in lines[start + 1:end])
        start = end + 1
    assert max(len(line) for line in lines) < 80
    assert "  table_14.parent_id -> table_07.id  (one to one)" in lines
    assert "  table_10.parent_id -> table_05.id  (many to one, optional)" in lines
    assert "  table_22.parent_id -> table_11.id  (many to one)" in lines  # across apps

    diagram = er_diagram(ok(project, "erd", "--format", "mermaid").stdout)
    assert len(diagram.entities) == 40 and len(diagram.relations) == 39
    assert ("table_07", "||--o|", "table_14", "parent_id") in diagram.relations
    assert ("table_05", "|o--o{", "table_10", "parent_id") in diagram.relations
    svg = svg_of(ok(project, "erd", "--format", "dot").stdout)
    assert svg.count('class="node"') == 40 and svg.count('class="edge"') == 39


MARKED = """
import os

with open(os.environ["ERD_MARK"], "a") as f:
    f.write(f"{os.getpid()}\\n")
"""


@pytest.mark.slow  # models of a revision are imported in a child process
def test_a_revision_is_read_in_a_child_and_migrations_can_be_drawn(
        repo: Repo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mark = tmp_path / "imported-by"
    monkeypatch.setenv("ERD_MARK", str(mark))
    repo.write("blog/models.py", repo.read("blog/models.py") + MARKED)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "mark imports")
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "    title:", "    slug: Mapped[str | None] = mapped_column(sa.String(50))\n    title:"))

    at_head = ok(repo, "erd", "HEAD", "blog").stdout
    assert "slug" not in at_head and "title" in at_head
    pids = mark.read_text().split()
    assert pids and str(os.getpid()) not in pids  # imported by a child, never by gitmig

    assert "|     slug  String(50)  null |" in ok(repo, "erd").stdout
    assert "slug" not in ok(repo, "erd", "--migrations").stdout
    assert "slug" not in ok(repo, "erd", "HEAD", "--migrations").stdout


@pytest.mark.slow  # models of a revision are imported in a child process
def test_diff_erd_marks_added_dropped_and_changed(repo: Repo) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py") + textwrap.dedent("""
        class Tag(Base):
            __tablename__ = "tag"
            id: Mapped[int] = mapped_column(primary_key=True)
            post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"))
        """))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "tag")
    repo.write("blog/models.py", repo.read("blog/models.py").replace(
        "sa.String(200))", "sa.String(300))\n    slug: Mapped[str | None] = "
        "mapped_column(sa.String(50))").split("class Tag")[0] + textwrap.dedent("""
        class Label(Base):
            __tablename__ = "label"
            id: Mapped[int] = mapped_column(primary_key=True)
        """))
    result = ok(repo, "diff", "--erd")
    assert result.stdout == picture("""
        Schema between HEAD and the working tree (+ added, - dropped, ~ changed):

        blog
        +- + label ------+
        |+ PK id Integer |
        +----------------+
        +- ~ post -------------------+
        |  PK id    Integer          |
        |~    title String(300)      |
        |+    slug  String(50)  null |
        +----------------------------+
        +- - tag -------------+
        |- PK id      Integer |
        |- FK post_id Integer |
        +---------------------+

        Relationships
        - tag.post_id -> post.id  (many to one)
        """)
    unchanged = ok(repo, "diff", "HEAD", "HEAD", "--erd").stdout
    assert unchanged == "No schema changes between HEAD and HEAD.\n"


def test_bad_input_is_refused(repo: Repo) -> None:
    message = assert_refused(repo.gitmig("erd", "nope"))
    assert "unknown revision 'nope'" in message
    assert "'nope' is no app either (apps: blog)" in repo.gitmig("erd", "nope").stderr
    assert "app 'shop'" in assert_refused(repo.gitmig("erd", "HEAD", "shop"))
    assert "either --erd or --json" in assert_refused(repo.gitmig("diff", "--erd", "--json"))
    assert "give it with --erd" in assert_refused(repo.gitmig("diff", "--format", "dot"))


def test_marks_from_two_states_without_git() -> None:
    """The fast twin of the test above: the same marks, from two states made by hand."""
    post = Table("post", (Column("id", "sa.Integer()", False, True),
                          Column("title", "sa.String(length=200)", False)), app="blog")
    tag = Table("tag", (Column("id", "sa.Integer()", False, True),
                        Column("post_id", "sa.Integer()", False)), app="blog",
                foreign_keys=frozenset({ForeignKey(("post_id",), "post", ("id",))}))
    old = SchemaState({"post": post, "tag": tag})
    new = SchemaState({
        "post": post.evolve(columns=(
            post.columns[0], Column("title", "sa.String(length=300)", False),
            Column("slug", "sa.String(length=50)"))),
        "label": Table("label", (Column("id", "sa.Integer()", False, True),), app="blog"),
    })
    marked = erd.between(old, new)
    lines = [text for text, _ in erdformats.text(marked)]
    assert "\n".join(lines) + "\n" == picture("""
        blog
        +- + label ------+
        |+ PK id Integer |
        +----------------+
        +- ~ post -------------------+
        |  PK id    Integer          |
        |~    title String(300)      |
        |+    slug  String(50)  null |
        +----------------------------+
        +- - tag -------------+
        |- PK id      Integer |
        |- FK post_id Integer |
        +---------------------+

        Relationships
        - tag.post_id -> post.id  (many to one)
        """)

    # The same marks as Mermaid comments and as dot colours.
    diagram = er_diagram(erdformats.mermaid(marked))
    assert diagram.entities["post"] == [
        ("Integer", "id", ("PK",), None),
        ("String(300)", "title", (), "changed"),
        ("String(50)", "slug", (), "null, added"),
    ]
    assert diagram.relations == [("post", "||--o{", "tag", "post_id (dropped)")]
    svg = svg_of(erdformats.dot(marked))
    assert ">tag (dropped)</text>" in svg and ">label (added)</text>" in svg
    assert svg.count('fill="#d4f4dd"') == 7  # label's title, its id row's 3 cells, slug's 3
