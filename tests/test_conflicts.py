"""`gitmig conflicts`: what conflicts now, and what will once branches are merged.

Other branches are read through git only; the tests prove it by what the command says
about branches whose files would fail if they were ever run.
"""

from __future__ import annotations

import json
from pathlib import Path

from gitmig.git.conflicts import Touches, touches

from .twobranches import TITLE, VIEWS, commit_change, ok, two_branches


def test_against_names_what_each_side_adds_and_the_tables_both_change(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("checkout", "-q", "-b", "views", "main~1")
    commit_change(repo, TITLE, VIEWS)  # post.views: the same table as feature's post.slug
    # A migration that would fail if it were ever run: read, never executed.
    repo.write("blog/migrations/0003_boom.py",
               'raise SystemExit("run!")\nparents = ["0002_post_add_views"]\noperations = []\n')
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "-m", "boom")
    repo.git("checkout", "-q", "feature")

    result = repo.gitmig("conflicts", "--against", "views")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("This branch: feature (")
    assert lines[3:8] == [
        "  app 'blog': both add migrations; merging leaves several latest ones",
        "    this branch adds: 0002_post_add_slug",
        "    views adds: 0002_post_add_views, 0003_boom",
        "    warning: both change table post; check the changes fit together",
        "    after the merge: run `gitmig resolve blog`",
    ]
    assert result.stderr == ("gitmig: migrations will conflict after a merge with views "
                             "(see above)\n")


def test_all_branches_compares_each_other_branch_once(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("branch", "old", "main~1")  # already part of this branch: nothing to say
    repo.git("checkout", "-q", "-b", "docs", "main")
    repo.write("README.md", "docs only\n")
    assert repo.commit(message="docs").exit_code == 0
    repo.git("checkout", "-q", "feature")
    repo.git("update-ref", "refs/remotes/origin/main", "main")  # the same commit as main

    result = repo.gitmig("conflicts", "--all-branches", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["conflict"] is True
    assert [(b["branch"], [c["app"] for c in b["collisions"]]) for b in data["branches"]] == [
        ("docs", ["blog"]), ("main", ["blog"])]
    main = data["branches"][1]
    assert main["collisions"] == [{
        "app": "blog", "ours": ["0002_post_add_slug"], "theirs": ["0002_tag_add_color"],
        "tables_changed_by_both": [], "clashes": [],
    }]
    assert main["merge_base"] == repo.git("merge-base", "HEAD", "main").stdout[:7]


def test_no_collision_exits_0(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("checkout", "-q", "-b", "docs", "main~1")
    repo.write("README.md", "docs only\n")
    assert repo.commit(message="docs").exit_code == 0
    repo.git("checkout", "-q", "feature")
    result = ok(repo, "conflicts", "--against", "docs")
    assert result.stdout.splitlines()[-1] == "1 branch compared; no migrations will conflict."


def test_an_unknown_ref_is_bad_input(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    result = repo.gitmig("conflicts", "--against", "nope")
    assert result.exit_code == 2
    assert result.stderr.startswith("gitmig: error: unknown revision 'nope': not a branch")
    both = repo.gitmig("conflicts", "--against", "main", "--all-branches")
    assert both.exit_code == 2


def test_conflicts_now_after_a_merge_git_let_through(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    assert ok(repo, "conflicts").stdout == "No conflicting migrations.\n"
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    result = repo.gitmig("conflicts", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["conflicts"][0]["leaves"] == [
        "0002_post_add_slug", "0002_tag_add_color"]
    assert result.stderr == "gitmig: 1 conflict found (see above)\n"


def test_operations_name_their_tables_and_columns() -> None:
    source = '''
import sqlalchemy as sa
from gitmig import ops

parents = []
operations = [
    ops.CreateTable("tag", sa.Column("id", sa.Integer(), primary_key=True)),
    ops.AddColumn("post", sa.Column("slug", sa.String(length=50), nullable=True)),
    ops.AlterColumn("post", "title", type_=sa.String(length=300)),
    ops.RenameColumn("post", "body", "text"),
    ops.CreateIndex("ix_post_slug", "post", ["slug"]),
    ops.DropIndex("ix_old", "comment"),
    ops.RenameTable("author", "writer"),
    ops.DropColumn("user", "age", schema="auth"),
    ops.RunSQL("UPDATE post SET slug = title"),
]
'''
    t = touches(source)
    assert t.tables == {"tag", "post", "comment", "author", "writer", "auth.user"}
    assert t.whole == {"tag", "author", "writer"}
    assert t.columns == {("post", "slug"), ("post", "title"), ("post", "body"),
                         ("post", "text"), ("auth.user", "age")}
    other = touches('from gitmig import ops\nparents = []\noperations = [\n'
                    '    ops.AddColumn("writer", sa.Column("x", sa.Integer())),\n'
                    '    ops.DropColumn("post", "title"),\n]\n')
    assert t.clashes(other) == ["column post.title", "table writer"]
    assert touches("not python (") == Touches()


def test_the_same_migration_on_both_sides_is_no_conflict(tmp_path: Path) -> None:
    """A commit both branches have (cherry-picked): the same file, the same lock lines."""
    repo = two_branches(tmp_path)
    repo.git("checkout", "-q", "-b", "twin", "main~1")
    repo.write("README.md", "twin\n")
    assert repo.commit(message="docs").exit_code == 0
    repo.git("cherry-pick", "feature")
    repo.git("checkout", "-q", "feature")
    predicted = ok(repo, "conflicts", "--against", "twin")
    assert predicted.stdout.splitlines()[-1] == "1 branch compared; no migrations will conflict."
    assert repo.git("merge", "--no-edit", "twin").exit_code == 0  # as git agrees
