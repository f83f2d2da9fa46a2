"""Snapshots: the working tree, the index and any revision, read through pygit2.

What a user relies on: another revision's files are never executed in the gitmig process,
the cache under .git/gitmig holds exactly that revision's files, reading the index changes
neither the index nor the working tree, and a state survives the trip through JSON.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gitmig.config import load_config
from gitmig.git.snapshot import GitProject
from gitmig.schema import stateio
from gitmig.schema.models import models_state
from gitmig.schema.state import (
    Check,
    Column,
    ForeignKey,
    Index,
    SchemaState,
    ServerDefault,
    Table,
    Unique,
)

from .gitrepo import Repo, add_slug, make_repo


def git_project(repo: Repo) -> GitProject:
    return GitProject(load_config(repo.root / "pyproject.toml"))


# -- states as JSON -----------------------------------------------------------------------

names = st.sampled_from(["id", "title", "body", "author_id", "x"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text(max_size=5),
                    st.floats(allow_nan=False, allow_infinity=False))


@st.composite
def tables(draw: st.DrawFn) -> Table:
    cols = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    columns = tuple(
        Column(
            name=c,
            type=draw(st.sampled_from(["sa.Integer()", "sa.String(length=20)", "sa.Text()"])),
            nullable=draw(st.booleans()),
            primary_key=draw(st.booleans()),
            autoincrement=draw(st.sampled_from([True, False, "auto"])),
            server_default=draw(st.none() | st.builds(
                ServerDefault, st.sampled_from(["literal", "sql"]), st.text(max_size=6))),
            comment=draw(st.none() | st.text(max_size=8)),
            default=draw(scalars),
        )
        for c in cols
    )
    some = st.lists(st.sampled_from(cols), min_size=1, max_size=2, unique=True).map(tuple)
    maybe_name = st.none() | st.text("abc_", min_size=1, max_size=6)
    return Table(
        name=draw(st.sampled_from(["post", "author", "tag"])),
        schema=draw(st.none() | st.just("audit")),
        app=draw(st.sampled_from(["blog", "shop"])),
        columns=columns,
        pk_name=draw(maybe_name),
        comment=draw(st.none() | st.text(max_size=8)),
        foreign_keys=frozenset(draw(st.lists(st.builds(
            ForeignKey, some, st.just("author"), some, maybe_name,
            st.none() | st.just("CASCADE"), st.none() | st.just("SET NULL")), max_size=2))),
        uniques=frozenset(draw(st.lists(st.builds(Unique, some, maybe_name), max_size=2))),
        checks=frozenset(draw(st.lists(st.builds(Check, st.text(max_size=10), maybe_name),
                                       max_size=2))),
        indexes=frozenset(draw(st.lists(st.builds(
            Index, st.text("ix_ab", min_size=1, max_size=6), some, st.booleans()), max_size=2))),
    )


@given(st.lists(tables(), max_size=3))
def test_a_state_survives_json_exactly(drawn: list[Table]) -> None:
    state = SchemaState({t.key: t for t in drawn})
    back = stateio.loads(stateio.dumps(state))
    assert back == state
    for key, table in state.tables.items():  # what equality skips is kept too
        assert [c.name for c in back.tables[key].columns] == [c.name for c in table.columns]
        assert [c.default for c in back.tables[key].columns] == [c.default for c in table.columns]
    assert stateio.dumps(back) == stateio.dumps(state)


RICH_MODELS = '''
import enum


class Level(enum.Enum):
    low = "low"
    high = "high"


class Author(Base):
    __tablename__ = "author"
    __table_args__ = (sa.UniqueConstraint("email", name="uq_author_email"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(120), comment="where to write")


class Post(Base):
    __tablename__ = "post"
    __table_args__ = (
        sa.CheckConstraint("score >= 0", name="ck_post_score"),
        sa.Index("ix_post_title", "title"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200), default="untitled")
    score: Mapped[int] = mapped_column(server_default=sa.text("0"), default=3)
    level: Mapped[Level] = mapped_column(sa.Enum(Level), default=Level.high)
    published: Mapped[bool] = mapped_column(default=False)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("author.id", ondelete="CASCADE"))
'''


def test_models_of_a_revision_read_in_a_child_equal_the_same_models_read_here(
    repo: Repo,
) -> None:
    repo.write("blog/models.py", repo.read("blog/models.py").split("class Post")[0] + RICH_MODELS)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "rich")
    here = models_state(load_config(repo.root / "pyproject.toml"))
    there = git_project(repo).revision("HEAD").models_state()
    assert there == here
    assert stateio.dumps(there) == stateio.dumps(here)  # defaults and column order too


def test_another_revisions_models_run_in_a_child_process_only(repo: Repo) -> None:
    marker = repo.root / "imported-by"
    repo.write("blog/models.py", repo.read("blog/models.py") + (
        "\nimport os, pathlib\n"
        f"pathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\n"
    ))
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "marker")
    marker.unlink(missing_ok=True)
    result = repo.gitmig("diff", "HEAD", "HEAD")
    assert result.exit_code == 0, result.output
    assert result.stdout == "No schema changes between HEAD and HEAD.\n"
    assert marker.read_text() != str(os.getpid())


def test_migrations_of_a_revision_are_parsed_never_run(repo: Repo) -> None:
    marker = repo.root / "ran"
    repo.write("blog/migrations/0002_boom.py", f"""
        import pathlib
        pathlib.Path({str(marker)!r}).write_text("ran")
        parents = ["0001_initial"]
        operations = []
    """)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "boom")
    (repo.root / "blog/migrations/0002_boom.py").unlink()
    graph = git_project(repo).revision("HEAD").graph()
    assert sorted(graph.nodes) == [("blog", "0001_initial"), ("blog", "0002_boom")]
    assert graph.nodes[("blog", "0002_boom")].path == "HEAD:blog/migrations/0002_boom.py"
    assert not marker.exists()


def test_the_cache_holds_exactly_the_revisions_files_written_once(repo: Repo) -> None:
    add_slug(repo)
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "slug")
    tree = repo.git("rev-parse", "HEAD~1^{tree}").stdout.strip()
    assert repo.gitmig("diff", "HEAD~1").exit_code == 0
    cached = repo.root / ".git" / "gitmig" / "trees" / tree
    files = sorted(str(p.relative_to(cached)) for p in cached.rglob("*") if p.is_file())
    listed = repo.git("ls-tree", "-r", "--name-only", "HEAD~1").stdout.split()
    assert files == sorted(listed)
    assert (cached / "blog/models.py").read_bytes() == repo.git(
        "show", "HEAD~1:blog/models.py").stdout.encode()
    stamp = (cached / "blog/models.py").stat().st_mtime_ns
    assert repo.gitmig("diff", "HEAD~1", "HEAD").exit_code == 0
    assert (cached / "blog/models.py").stat().st_mtime_ns == stamp  # not written again
    leftovers = [p.name for p in cached.parent.iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_reading_the_index_changes_neither_the_index_nor_the_working_tree(repo: Repo) -> None:
    add_slug(repo)
    repo.git("add", "blog/models.py")
    repo.write("blog/models.py", repo.read("blog/models.py") + "    body: Mapped[str | None]\n")
    index_before = (repo.root / ".git" / "index").read_bytes()
    status_before = repo.git("status", "--porcelain").stdout
    files_before = {k: v for k, v in repo.snapshot().items() if not k.startswith(".git/")}
    result = repo.gitmig("diff", "--staged")
    assert result.exit_code == 0, result.output
    assert "Add column slug to post" in result.stdout
    assert "body" not in result.stdout
    assert (repo.root / ".git" / "index").read_bytes() == index_before
    assert repo.git("status", "--porcelain").stdout == status_before
    after = {k: v for k, v in repo.snapshot().items() if not k.startswith(".git/")}
    assert after == files_before


def test_a_linked_worktree_shares_the_cache_of_the_main_repository(repo: Repo,
                                                                   tmp_path: Path) -> None:
    other = tmp_path / "other"
    repo.git("worktree", "add", "-q", "-b", "feature", str(other))
    linked = Repo(other, repo.home)
    add_slug(linked)
    result = linked.gitmig("diff")
    assert result.exit_code == 0, result.output
    assert "+ Add column slug to post" in result.stdout
    tree = repo.git("rev-parse", "HEAD^{tree}").stdout.strip()
    assert (repo.root / ".git" / "gitmig" / "trees" / tree / "blog" / "models.py").is_file()


def test_a_project_in_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    top = tmp_path / "mono"
    repo = make_repo(top / "services" / "api", tmp_path / "home", top=top)
    assert not (top / "services" / "api" / ".git").exists()
    add_slug(repo)
    result = repo.gitmig("diff", "--json")
    assert result.exit_code == 0, result.output
    assert '"description": "Add column slug to post"' in result.stdout
    tree = repo.git("rev-parse", "HEAD:services/api").stdout.strip()
    cached = top / ".git" / "gitmig" / "trees" / tree
    assert (cached / "blog" / "models.py").is_file()  # the project's folder, not the whole top


@pytest.mark.slow
def test_bytecode_never_lands_in_the_cache(repo: Repo) -> None:
    env = {**os.environ}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    proc = subprocess.run(
        [sys.executable, "-m", "gitmig", "diff", "HEAD"],
        cwd=repo.root, env=env, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    cache = repo.root / ".git" / "gitmig" / "trees"
    assert [p for p in cache.rglob("__pycache__")] == []


def test_json_carries_every_field_of_the_state() -> None:
    """A field added to the state must be added to stateio too, or states would lose it."""
    from dataclasses import fields

    column = Column("id", "sa.Integer()", server_default=ServerDefault("sql", "1"))
    table = Table("t", (column,), foreign_keys=frozenset({ForeignKey(("id",), "u", ("id",))}),
                  uniques=frozenset({Unique(("id",))}), checks=frozenset({Check("id > 0")}),
                  indexes=frozenset({Index("ix", ("id",))}))
    data = stateio.to_json(SchemaState({"t": table}))["tables"][0]
    assert set(data) == {f.name for f in fields(Table)}
    assert set(data["columns"][0]) == {f.name for f in fields(Column)}
    assert set(data["columns"][0]["server_default"]) == {f.name for f in fields(ServerDefault)}
    for key, cls in (("foreign_keys", ForeignKey), ("uniques", Unique), ("checks", Check),
                     ("indexes", Index)):
        assert set(data[key][0]) == {f.name for f in fields(cls)}, key


@pytest.mark.slow
def test_gitmig_needs_no_git_program(repo: Repo) -> None:
    """pygit2 only: with no `git` on PATH, revisions, the index and hooks all still work."""
    add_slug(repo)
    repo.git("add", "-A")
    env = {**repo.env(), "PATH": str(repo.root / "no-programs-here")}
    for args in (["diff", "HEAD"], ["diff", "--staged"], ["hooks", "install"],
                 ["hooks", "status"], ["hooks", "run", "pre-commit"]):
        proc = subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=repo.root, env=env,
                              capture_output=True, text=True)
        assert "No such file" not in proc.stderr, args
        assert proc.returncode == (1 if args[-1] == "pre-commit" else 0), (args, proc.stderr)
    assert "+ Add column slug to post" in proc.stderr
