"""A squash on one branch meets a migration another branch added after an original: git
stops at the lock file, and `gitmig resolve` needs only to write it again (one latest
migration: the other branch's follows the squash)."""

from __future__ import annotations

from pathlib import Path

from .gitrepo import Repo, add_slug

BODY = "    body: Mapped[str | None] = mapped_column(sa.Text)\n"


def test_a_squash_merged_with_a_branch_that_built_on_an_original(repo: Repo,
                                                                 tmp_path: Path) -> None:
    add_slug(repo)
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert repo.commit(message="slug").exit_code == 0
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("blog/models.py", repo.read("blog/models.py") + BODY)
    assert repo.gitmig("makemigrations", "--no-input").exit_code == 0
    assert repo.commit(message="body").exit_code == 0
    repo.git("checkout", "-q", "main")
    squashed = repo.gitmig("squash", "blog", "0002")
    assert squashed.exit_code == 0, squashed.output
    assert repo.commit(message="squash").exit_code == 0
    # Predicted: the lock file will conflict, which resolve settles; the squash restates
    # history, so no table counts as changed by both branches.
    predicted = repo.gitmig("conflicts", "--against", "feature")
    assert predicted.exit_code == 1, predicted.output
    assert "after the merge: run `gitmig resolve blog`" in predicted.stdout
    assert "both change table" not in predicted.stdout

    merge = repo.git("merge", "--no-ff", "--no-edit", "feature", check=False)
    assert merge.exit_code == 1
    assert "Merge conflict in blog/migrations/gitmig.lock" in merge.stdout
    resolved = repo.gitmig("resolve", "blog")
    assert resolved.exit_code == 0, resolved.output
    assert "Updated blog/migrations/gitmig.lock" in resolved.stdout
    assert "renumber" not in resolved.output.lower()
    assert repo.gitmig("conflicts").exit_code == 0
    assert repo.git("commit", "-q", "--no-edit", check=False).exit_code == 0
    check = repo.gitmig("makemigrations", "--check", "--no-input")
    assert check.exit_code == 0, check.output

    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    run = repo.gitmig("migrate", "--database", url)
    assert run.exit_code == 0, run.output
    assert [line.split("...")[0] for line in run.stdout.splitlines()] == [
        "Applying blog.0001_squashed_0002_post_add_slug", "Applying blog.0003_post_add_body"]
