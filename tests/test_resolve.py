"""`gitmig resolve`, as a team meets it: two branches each add a migration to one app,
git merges (or rebases) them, and one command makes the app's history one line again.

Git runs through its CLI, as a user runs it; databases are real (SQLite, PostgreSQL,
MariaDB), and one of them applied this branch's migration before the merge.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .gitrepo import Repo
from .schema_compare import (
    assert_same_schema,
    create_all_schema,
    explicit_names,
    reflected_schema,
    scratch_database,
)
from .twobranches import (
    SLUG,
    TITLE,
    VIEWS,
    commit_change,
    files_and_index,
    metadata,
    ok,
    two_branches,
    unmerged,
)

FIX = ("run `gitmig resolve blog` (renumbers this branch's new migrations after the other "
       "branch's; `--strategy merge` writes a merge migration instead)")


def assert_schema_is_the_models(repo: Repo, url: str) -> None:
    """`url`'s schema is what create_all makes of the models, and so is a database
    migrated from zero."""
    meta = metadata(repo)
    names = explicit_names(meta)
    with scratch_database(url) as scratch:
        expected = create_all_schema(meta, scratch, named=names)
        assert_same_schema(reflected_schema(url, named=names), expected)
    with scratch_database(url) as fresh:
        ok(repo, "migrate", "--database", fresh)
        assert_same_schema(reflected_schema(fresh, named=names), expected)


def applied(url: str) -> list[str]:
    import sqlalchemy as sa

    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT name FROM gitmig_migrations ORDER BY name"))
        names = [r[0] for r in rows]
    engine.dispose()
    return names


@pytest.mark.slow
def test_a_merge_is_predicted_refused_then_resolved_by_renumbering(
    tmp_path: Path, database_url: str
) -> None:
    repo = two_branches(tmp_path, hooks=True)
    ok(repo, "migrate", "--database", database_url)  # this branch's migration, applied

    predicted = repo.gitmig("conflicts", "--against", "main")
    assert predicted.exit_code == 1, predicted.output
    assert "    this branch adds: 0002_post_add_slug" in predicted.stdout.splitlines()
    assert "    main adds: 0002_tag_add_color" in predicted.stdout.splitlines()

    merge = repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    assert merge.exit_code == 1  # git itself stops: both branches rewrote the lock file
    assert "CONFLICT (content): Merge conflict in blog/migrations/gitmig.lock" in merge.stdout
    assert unmerged(repo) == ["blog/migrations/gitmig.lock"]
    for args in (["migrate", "--database", database_url], ["makemigrations", "--check"]):
        refused = repo.gitmig(*args)
        assert refused.exit_code == 1, refused.output
        assert refused.stderr == ("gitmig: app 'blog' has conflicting migrations, several are "
                                  f"latest (0002_post_add_slug, 0002_tag_add_color)\nhint: {FIX}\n")

    result = ok(repo, "resolve")
    assert result.stdout.splitlines() == [
        "app 'blog': this branch's migrations now follow 0002_tag_add_color (from main):",
        "  0002_post_add_slug -> 0003_post_add_slug",
        "Updated blog/migrations/gitmig.lock",
        "The changes are staged in git's index.",
        "Next: `git commit` to conclude the merge.",
    ]
    assert repo.migrations("blog") == [
        "0001_initial.py", "0002_tag_add_color.py", "0003_post_add_slug.py"]
    # Only the name and the parents line change: the operations, and so the checksum, stay.
    original = repo.git("show", "HEAD:blog/migrations/0002_post_add_slug.py").stdout
    assert repo.read("blog/migrations/0003_post_add_slug.py") == original.replace(
        'parents = ["0001_initial"]\n', 'parents = ["0002_tag_add_color"]\n')
    assert unmerged(repo) == []
    concluded = repo.git("commit", "-q", "--no-edit", check=False)  # through the hook
    assert concluded.exit_code == 0, concluded.output
    assert repo.git("status", "--porcelain").stdout == ""  # resolve staged all it did

    assert ok(repo, "conflicts").stdout == "No conflicting migrations.\n"
    ok(repo, "makemigrations", "--check")
    shown = ok(repo, "showmigrations", "--database", database_url)
    assert shown.stdout.splitlines() == [
        "blog", " [X] 0001_initial", " [ ] 0002_tag_add_color", " [X] 0003_post_add_slug"]
    migrated = ok(repo, "migrate", "--database", database_url)
    assert [line.split("...")[0] for line in migrated.stdout.splitlines()] == [
        "Applying blog.0002_tag_add_color"]  # 0002_post_add_slug is not run twice
    assert "blog.0002_post_add_slug was renumbered to 0003_post_add_slug" in migrated.stderr
    assert applied(database_url) == ["0001_initial", "0002_tag_add_color", "0003_post_add_slug"]
    assert_schema_is_the_models(repo, database_url)


@pytest.mark.slow
def test_a_rebase_renumbers_the_whole_chain_commit_by_commit(
    tmp_path: Path, database_url: str
) -> None:
    repo = two_branches(tmp_path)
    commit_change(repo, SLUG, VIEWS)  # feature's second migration: 0003_post_add_views
    ok(repo, "migrate", "--database", database_url)

    first = repo.git("rebase", "main", check=False)
    assert first.exit_code == 1
    assert unmerged(repo) == ["blog/migrations/gitmig.lock"]
    result = ok(repo, "resolve", "blog")
    assert result.stdout.splitlines()[:2] == [
        "app 'blog': this branch's migrations now follow 0002_tag_add_color (from the new "
        f"base {repo.git('rev-parse', '--short=7', 'main').stdout.strip()}):",
        "  0002_post_add_slug -> 0003_post_add_slug",
    ]
    assert result.stdout.splitlines()[-1] == "Next: `git rebase --continue`."
    second = repo.git("-c", "core.editor=true", "rebase", "--continue", check=False)
    assert second.exit_code == 1  # the next commit rewrote the lock file too
    assert unmerged(repo) == ["blog/migrations/gitmig.lock"]
    # That commit's migration still names 0002_post_add_slug, renumbered a step ago.
    assert "0003_post_add_views -> 0004_post_add_views" in ok(repo, "resolve").stdout
    done = repo.git("-c", "core.editor=true", "rebase", "--continue", check=False)
    assert done.exit_code == 0, done.output

    assert repo.git("rev-list", "--merges", "HEAD").stdout == ""  # history stays linear
    assert repo.migrations("blog") == [
        "0001_initial.py", "0002_tag_add_color.py", "0003_post_add_slug.py",
        "0004_post_add_views.py"]
    assert 'parents = ["0003_post_add_slug"]\n' in repo.read(
        "blog/migrations/0004_post_add_views.py")
    ok(repo, "makemigrations", "--check")
    ok(repo, "conflicts")
    migrated = ok(repo, "migrate", "--database", database_url)
    assert [line.split("...")[0] for line in migrated.stdout.splitlines()] == [
        "Applying blog.0002_tag_add_color"]
    assert_schema_is_the_models(repo, database_url)


@pytest.mark.slow
def test_the_merge_strategy_writes_a_merge_migration(tmp_path: Path, database_url: str) -> None:
    repo = two_branches(tmp_path, hooks=True)
    ok(repo, "migrate", "--database", database_url)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    repo.git("add", "-A")  # the lock file, conflict markers and all
    refused = repo.git("commit", "-q", "--no-edit", check=False)
    assert refused.exit_code == 1
    assert refused.stderr.splitlines()[0] == (
        "gitmig: app 'blog': the staged migrations conflict, several are latest "
        f"(0002_post_add_slug, 0002_tag_add_color); {FIX}, then stage the result")

    result = ok(repo, "resolve", "--strategy", "merge")
    merge_name = "0003_merge_0002_post_add_slug_0002_tag_add_color"
    assert result.stdout.splitlines()[0] == (
        f"app 'blog': wrote the merge migration blog/migrations/{merge_name}.py, joining "
        "0002_post_add_slug and 0002_tag_add_color")
    text = repo.read(f"blog/migrations/{merge_name}.py")
    assert text.startswith('"""Merge migration: joins 0002_post_add_slug and 0002_tag_add_color')
    assert 'parents = ["0002_post_add_slug", "0002_tag_add_color"]\n' in text
    assert "operations: list[ops.Operation] = []\n" in text
    assert repo.git("commit", "-q", "--no-edit", check=False).exit_code == 0
    ok(repo, "makemigrations", "--check")
    migrated = ok(repo, "migrate", "--database", database_url)
    assert [line.split("...")[0] for line in migrated.stdout.splitlines()] == [
        "Applying blog.0002_tag_add_color", f"Applying blog.{merge_name}"]
    assert_schema_is_the_models(repo, database_url)


@pytest.mark.slow
def test_makemigrations_merge_after_a_merge_git_let_through(tmp_path: Path) -> None:
    """A project from before lock files: git merges without a word, the post-merge hook
    says so at once, and `makemigrations --merge` joins the leaves."""
    repo = two_branches(tmp_path, hooks=True)
    for branch in ("main", "feature"):
        repo.git("checkout", "-q", branch)
        repo.git("rm", "-q", "blog/migrations/gitmig.lock")
        repo.git("commit", "-q", "-m", "an older project: no lock file")
    merge = repo.git("merge", "--no-ff", "--no-edit", "main")
    assert (f"gitmig: warning: app 'blog' has conflicting migrations, several are latest "
            f"(0002_post_add_slug, 0002_tag_add_color); {FIX}") in merge.stderr.splitlines()
    result = ok(repo, "makemigrations", "--merge")
    assert result.stdout.splitlines()[:2] == [
        "app 'blog': wrote the merge migration blog/migrations/0003_merge_0002_post_add_slug_"
        "0002_tag_add_color.py, joining 0002_post_add_slug and 0002_tag_add_color",
        "Wrote blog/migrations/gitmig.lock",
    ]
    ok(repo, "makemigrations", "--check")
    ok(repo, "conflicts")
    assert repo.commit(message="merge migration").exit_code == 0


def test_both_branches_adding_the_same_column_stop_resolve_and_nothing_moves(
    tmp_path: Path,
) -> None:
    repo = two_branches(tmp_path)
    repo.git("checkout", "-q", "main")
    commit_change(repo, TITLE, SLUG, "--name", "slug_too")  # main adds post.slug as well
    repo.git("checkout", "-q", "feature")
    predicted = repo.gitmig("conflicts", "--against", "main")
    assert predicted.exit_code == 1
    assert ("    both change column post.slug: agree on one change before merging; `gitmig "
            "resolve` cannot reorder these") in predicted.stdout.splitlines()

    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    before = files_and_index(repo)
    result = repo.gitmig("resolve")
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(
        "gitmig: app 'blog': both branches change column post.slug (this branch in "
        "0002_post_add_slug; main in 0003_slug_too), so one cannot simply follow the other; "
        "nothing was changed.")
    assert files_and_index(repo) == before


def test_a_resolve_that_fails_midway_puts_every_file_and_the_index_back(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    before = files_and_index(repo)
    lock = repo.root / ".git" / "index.lock"  # another git command holds the index
    lock.write_bytes(b"")
    result = repo.gitmig("resolve")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("gitmig: error: cannot update git's index")
    assert result.stderr.rstrip().endswith("nothing was changed")
    lock.unlink()
    assert files_and_index(repo) == before
    assert unmerged(repo) == ["blog/migrations/gitmig.lock"]
    ok(repo, "resolve")  # and it works once the index is free
    assert unmerged(repo) == []


def test_mid_rebase_other_conflicts_are_left_to_the_user(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    for branch, text in (("main", "main's words\n"), ("feature", "feature's words\n")):
        repo.git("checkout", "-q", branch)
        repo.write("README.md", text)
        assert repo.commit("README.md", message="readme").exit_code == 0
    assert repo.git("rebase", "main", check=False).exit_code == 1
    # git stops at the first conflicting commit: the migration's, not yet the README's.
    result = ok(repo, "resolve")
    assert "  0002_post_add_slug -> 0003_post_add_slug" in result.stdout.splitlines()
    repo.git("-c", "core.editor=true", "rebase", "--continue", check=False)
    assert unmerged(repo) == ["README.md"]
    result = ok(repo, "resolve")  # nothing of the migrations is left to do
    assert result.stdout.splitlines() == [
        "No conflicting migrations; nothing to resolve.",
        "Other files are still in conflict, for you to resolve: README.md; then `git add` "
        "them",
        "Next: `git rebase --continue`.",
    ]


def test_a_merge_with_other_conflicts_fixes_the_migrations_and_names_the_rest(
    tmp_path: Path,
) -> None:
    repo = two_branches(tmp_path)
    for branch, text in (("main", "main's words\n"), ("feature", "feature's words\n")):
        repo.git("checkout", "-q", branch)
        repo.write("README.md", text)
        assert repo.commit("README.md", message="readme").exit_code == 0
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    assert unmerged(repo) == ["README.md", "blog/migrations/gitmig.lock"]
    result = ok(repo, "resolve")
    assert "  0002_post_add_slug -> 0003_post_add_slug" in result.stdout.splitlines()
    assert ("Other files are still in conflict, for you to resolve: README.md; then `git add` "
            "them") in result.stdout.splitlines()
    assert unmerged(repo) == ["README.md"]


@pytest.mark.parametrize("how", ["merge", "rebase"])
def test_conflicted_models_are_refused_until_resolved(tmp_path: Path, how: str) -> None:
    repo = two_branches(tmp_path)
    for branch, length in (("main", "300"), ("feature", "100")):
        repo.git("checkout", "-q", branch)
        repo.write("blog/models.py", repo.read("blog/models.py").replace(
            "sa.String(200)", f"sa.String({length})"))
        ok(repo, "makemigrations", "--no-input")
        assert repo.commit(message="title length").exit_code == 0
    if how == "merge":
        repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    else:
        repo.git("rebase", "main", check=False)
    assert "blog/models.py" in unmerged(repo)
    before = files_and_index(repo)
    result = repo.gitmig("resolve")
    assert result.exit_code == 2, result.output
    assert result.stderr == (
        "gitmig: error: the models are in conflict (blog/models.py); resolve it first (edit, "
        "then `git add`), then run `gitmig resolve` again: the migrations must follow the "
        "merged models\n")
    assert files_and_index(repo) == before


def test_both_branches_adding_a_file_of_the_same_name_keep_both(tmp_path: Path) -> None:
    """Two hand-written data migrations, both named 0002_backfill: git conflicts on the
    file itself; the other branch's keeps the name, this branch's follows it."""
    repo = two_branches(tmp_path)
    for branch, value in (("main", "from main"), ("feature", "from feature")):
        repo.git("checkout", "-q", branch)
        ok(repo, "makemigrations", "--empty", "blog", "--name", "backfill")
        path = next(p for p in repo.migrations("blog") if p.endswith("_backfill.py"))
        text = repo.read(f"blog/migrations/{path}")
        repo.write(f"blog/migrations/{path}", text.replace(
            "operations: list[ops.Operation] = []",
            f'operations = [ops.RunSQL("UPDATE post SET title = \'{value}\'")]'))
        made = ok(repo, "makemigrations")  # records the edit in the lock file
        assert (f"Updated blog/migrations/gitmig.lock (it does not record {path[:-3]} as it "
                "is now)") in made.stdout.splitlines()
        assert repo.commit(message="backfill").exit_code == 0
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    assert "blog/migrations/0003_backfill.py" in unmerged(repo)
    result = ok(repo, "resolve")
    assert result.stdout.splitlines()[1:3] == [
        "  0002_post_add_slug -> 0004_post_add_slug",
        "  0003_backfill -> 0005_backfill",
    ]
    assert unmerged(repo) == []
    assert "from main" in repo.read("blog/migrations/0003_backfill.py")
    assert "from feature" in repo.read("blog/migrations/0005_backfill.py")
    assert 'parents = ["0004_post_add_slug"]' in repo.read("blog/migrations/0005_backfill.py")
    ok(repo, "makemigrations", "--check")
    assert repo.git("commit", "-q", "--no-edit", check=False).exit_code == 0


def test_resolve_without_a_conflict_says_so(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    before = files_and_index(repo)
    assert ok(repo, "resolve").stdout == "No conflicting migrations; nothing to resolve.\n"
    assert ok(repo, "resolve", "blog").stdout == (
        "No conflicting migrations in 'blog'; nothing to resolve.\n")
    assert files_and_index(repo) == before
    bad = repo.gitmig("resolve", "ghost")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("gitmig: error: unknown app 'ghost'")


def test_a_file_with_unstaged_edits_is_not_renamed(tmp_path: Path) -> None:
    repo = two_branches(tmp_path)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    path = "blog/migrations/0002_post_add_slug.py"
    repo.write(path, repo.read(path) + "# a note\n")
    before = files_and_index(repo)
    result = repo.gitmig("resolve")
    assert result.exit_code == 2
    assert result.stderr == (
        f"gitmig: error: {path} has changes that are not staged; stage them (git add) or "
        "discard them first, then run `gitmig resolve` again; nothing was changed\n")
    assert files_and_index(repo) == before


def test_after_a_merge_commit_resolve_uses_its_parents(tmp_path: Path) -> None:
    """Merged and committed with --no-verify, lock file conflict and all: resolve still
    knows which side is this branch (the merge commit's first parent)."""
    repo = two_branches(tmp_path)
    repo.git("merge", "--no-ff", "--no-edit", "main", check=False)
    repo.git("checkout", "--theirs", "blog/migrations/gitmig.lock")
    repo.git("add", "-A")
    repo.git("commit", "-q", "--no-verify", "--no-edit")
    result = ok(repo, "resolve")
    assert "  0002_post_add_slug -> 0003_post_add_slug" in result.stdout.splitlines()
    assert result.stdout.splitlines()[-1] == "Next: commit the changes."
    ok(repo, "makemigrations", "--check")


def test_a_renumbered_migration_is_matched_to_its_row_by_checksum() -> None:
    from gitmig.migrations.graph import MigrationFile, MigrationGraph
    from gitmig.migrations.plan import renamed

    def node(name: str, parent: str | None, checksum: str) -> MigrationFile:
        parents = (("blog", parent),) if parent else ()
        return MigrationFile("blog", name, parents, f"{name}.py", 0, checksum)

    graph = MigrationGraph([
        node("0001_a", None, "c1"), node("0002_b", "0001_a", "c2"), node("0003_c", "0002_b", "c3"),
        node("0004_merge_x", "0003_c", "empty"), node("0005_merge_y", "0004_merge_x", "empty"),
    ], ["blog"])
    recorded = {
        ("blog", "0001_a"): "c1",  # on disk as it was
        ("blog", "0002_c"): "c3",  # renumbered: 0003_c
        ("blog", "0002_merge_y"): "empty",  # two files share the checksum: the name decides
        ("blog", "0009_gone"): "zz",  # another branch's: nothing on disk does the same
    }
    assert renamed(graph, recorded) == {
        ("blog", "0002_c"): ("blog", "0003_c"),
        ("blog", "0002_merge_y"): ("blog", "0005_merge_y"),
    }
    del recorded[("blog", "0001_a")]
    recorded[("blog", "0003_c")] = "c3"  # recorded under its new name already: no match
    assert renamed(graph, recorded) == {("blog", "0002_merge_y"): ("blog", "0005_merge_y")}
