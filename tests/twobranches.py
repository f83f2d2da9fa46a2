"""Two feature branches that each add a migration to app blog, as teammates make them.

The models are laid out so that git merges the models cleanly (each branch edits a
different class), while the migrations collide: both branches add a 0002 and rewrite
the lock file's lines.
"""

from __future__ import annotations

import hashlib
import runpy
from pathlib import Path

import sqlalchemy as sa

from .conftest import Project, Result
from .gitrepo import Repo, make_repo

POST_AND_TAG = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))


class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
"""

TITLE = "    title: Mapped[str] = mapped_column(sa.String(200))\n"
SLUG = "    slug: Mapped[str | None] = mapped_column(sa.String(50))\n"
VIEWS = "    views: Mapped[int | None]\n"
NAME = "    name: Mapped[str] = mapped_column(sa.String(50))\n"
COLOR = "    color: Mapped[str | None] = mapped_column(sa.String(20))\n"


def ok(repo: Project, *args: str) -> Result:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result


def change_models(repo: Repo, after: str, line: str) -> None:
    text = repo.read("blog/models.py")
    assert after in text
    repo.write("blog/models.py", text.replace(after, after + line, 1))


def commit_change(repo: Repo, after: str, line: str, *makemigrations: str) -> None:
    """A model change, its migration (and lock file), committed through the hooks."""
    change_models(repo, after, line)
    ok(repo, "makemigrations", "--no-input", *makemigrations)
    run = repo.commit(message=f"add {line.split(':')[0].strip()}")
    assert run.exit_code == 0, run.output


def two_branches(tmp_path: Path, hooks: bool = False) -> Repo:
    """main adds tag.color (0002_tag_add_color); `feature`, checked out at the end, adds
    post.slug (0002_post_add_slug). Both started from the same initial commit."""
    repo = make_repo(tmp_path / "proj", tmp_path / "home", body=POST_AND_TAG)
    if hooks:
        ok(repo, "hooks", "install")
    repo.git("checkout", "-q", "-b", "feature")
    commit_change(repo, TITLE, SLUG)
    repo.git("checkout", "-q", "main")
    commit_change(repo, NAME, COLOR)
    repo.git("checkout", "-q", "feature")
    return repo


def files_and_index(repo: Repo) -> dict[str, str]:
    """A hash of every file of the working tree and of git's index, to prove nothing moved."""
    out = {path: hashlib.sha256(data).hexdigest() for path, data in repo.snapshot().items()
           if not path.startswith(".git/") or path == ".git/index"}
    out[".git/index"] = hashlib.sha256((repo.root / ".git" / "index").read_bytes()).hexdigest()
    return out


def unmerged(repo: Repo) -> list[str]:
    return repo.git("diff", "--name-only", "--diff-filter=U").stdout.split()


def metadata(repo: Repo) -> sa.MetaData:
    namespace = runpy.run_path(str(repo.root / "blog" / "models.py"))
    meta: sa.MetaData = namespace["Base"].metadata
    return meta
