"""Crafted git trees (issue 11): a tree arriving by a plain fetch may hold what git itself
would never check out (a link and a file of one name, links out of the repository, `..`,
`.git`, submodules, odd names). Every command that reads or exports trees must write
nothing outside the repository's git folder (and temporary folders), and fail, if at all,
with one line and exit 2, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pygit2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .gitrepo import Repo, make_repo

LINK, BLOB, TREE, COMMIT = 0o120000, 0o100644, 0o040000, 0o160000

COMMANDS = [
    ("diff", "origin/evil"),
    ("diff", "--json", "origin/evil", "HEAD"),
    ("makemigrations", "--rev", "origin/evil", "--check"),
    ("conflicts", "--against", "origin/evil"),
    ("status",),
    ("graph", "--against", "origin/evil", "--no-database"),
    ("erd", "origin/evil"),
    ("hooks", "run", "post-checkout", "origin/evil", "HEAD", "1"),  # reads the tree left
]


def raw_tree(repo: pygit2.Repository, entries: list[tuple[int, bytes, pygit2.Oid]]) -> pygit2.Oid:
    """A tree object exactly as given: unsorted, duplicated, any name (git's own tools and
    libgit2's tree builder would refuse most of these)."""
    data = b"".join(f"{mode:o} ".encode() + name + b"\0" + oid.raw for mode, name, oid in entries)
    return repo.odb.write(pygit2.enums.ObjectType.TREE, data)


def entries_of(tree: pygit2.Tree) -> list[tuple[int, bytes, pygit2.Oid]]:
    return [(int(e.filemode), str(e.name).encode(), e.id) for e in tree]


def evil_ref(repo_root: Path, top: list[tuple[int, bytes, pygit2.Oid]],
             blog: list[tuple[int, bytes, pygit2.Oid]]) -> None:
    """refs/remotes/origin/evil: HEAD's tree plus `top` at the top and `blog` in blog/."""
    repo = pygit2.Repository(str(repo_root))
    head = repo.head.peel(pygit2.Commit)
    blog_tree = head.tree["blog"]
    assert isinstance(blog_tree, pygit2.Tree)
    new_blog = raw_tree(repo, entries_of(blog_tree) + blog)
    root = [e for e in entries_of(head.tree) if e[1] != b"blog"] + [(TREE, b"blog", new_blog)]
    tree = raw_tree(repo, root + top)
    sig = pygit2.Signature("evil", "evil@example.com")
    commit = repo.create_commit(None, sig, sig, "crafted", tree, [head.id])
    repo.references.create("refs/remotes/origin/evil", commit, force=True)


def files_outside_git(base: Path, git_dir: Path) -> dict[str, bytes | str]:
    """Every file, folder and link under `base` but in the repository's git folder."""
    out: dict[str, bytes | str] = {}
    for dirpath, dirnames, filenames in os.walk(base):
        if Path(dirpath) == git_dir.parent:
            dirnames[:] = [d for d in dirnames if d != git_dir.name]
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            key = str(path.relative_to(base))
            if path.is_symlink():
                out[key] = "-> " + os.readlink(path)
            elif path.is_file():
                out[key] = path.read_bytes()
            else:
                out[key] = "dir"
    return {k: v for k, v in out.items() if "__pycache__" not in k and not k.endswith(".sqlite3")}


def run_every_command(repo: Repo, outside: Path) -> None:
    base = outside.parent
    before = files_outside_git(base, repo.root / ".git")
    for args in COMMANDS:
        result = repo.gitmig(*args)
        assert result.exit_code in (0, 1, 2), (args, result.output)
        assert "Traceback" not in result.output, (args, result.output)
        if result.exit_code == 2:
            assert result.stderr.startswith("gitmig: error: "), (args, result.output)
        assert files_outside_git(base, repo.root / ".git") == before, args


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "proj", tmp_path / "home")


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "victim.txt").write_text("precious\n")
    return folder


def test_a_link_and_a_file_of_one_name_write_nothing_through_the_link(
    repo: Repo, outside: Path
) -> None:
    """The issue's case: `gitmig diff origin/evil` overwrote a file outside the repository."""
    r = pygit2.Repository(str(repo.root))
    link = r.create_blob(b"../../../../../../../outside/victim.txt")  # relative: written
    payload = r.create_blob(b"overwritten\n")
    evil_ref(repo.root, [], [(LINK, b"notes.txt", link), (BLOB, b"notes.txt", payload)])
    run_every_command(repo, outside)
    assert (outside / "victim.txt").read_text() == "precious\n"
    result = repo.gitmig("diff", "origin/evil")
    assert result.exit_code == 2
    assert result.stderr.startswith("gitmig: error: gitmig does not write out origin/evil")
    assert "two entries named 'blog/notes.txt'" in result.stderr


def test_a_link_out_of_the_repository_is_refused(repo: Repo, outside: Path) -> None:
    r = pygit2.Repository(str(repo.root))
    for target in (str(outside), "../../outside", "../../../../../../../../tmp"):
        evil_ref(repo.root, [], [(LINK, b"data", r.create_blob(target.encode()))])
        run_every_command(repo, outside)
        result = repo.gitmig("diff", "origin/evil")
        assert result.exit_code == 2, (target, result.output)
        assert "'blog/data' is a symbolic link that leads out of" in result.stderr


NAMES = st.sampled_from([b"models.py", b"notes.txt", b"blog", b"..", b".", b".git", b".GIT",
                         b"a/b", b"../x", b"\xc3\xa9t\xc3\xa9.py", b"\xff\xfe", b"-rf",
                         b"migrations", b"pyproject.toml", b"__init__.py", b" ", b"x\ny"])
KINDS = st.sampled_from(["blob", "link-out", "link-abs", "link-up", "link-sibling", "tree",
                         "submodule", "missing"])


def crafted(r: pygit2.Repository, outside: Path, kind: str) -> tuple[int, pygit2.Oid]:
    blob = r.create_blob(b"open('/tmp/gitmig-fuzz-ran', 'w')\n")
    if kind == "blob":
        return BLOB, blob
    if kind.startswith("link"):
        target = {"link-out": str(outside / "victim.txt"), "link-abs": "/tmp",
                  "link-up": "../../..", "link-sibling": "notes.txt"}[kind]
        return LINK, r.create_blob(target.encode())
    if kind == "tree":
        return TREE, raw_tree(r, [(LINK, b"up", r.create_blob(b"../..")), (BLOB, b"up", blob)])
    if kind == "submodule":
        return COMMIT, r.head.peel(pygit2.Commit).id
    return BLOB, pygit2.Oid(hex="1" * 40)  # an object this repository does not have


@pytest.mark.slow
@settings(max_examples=12)
@given(st.lists(st.tuples(st.booleans(), NAMES, KINDS), min_size=1, max_size=5))
def test_fuzz_crafted_trees_through_every_command(
    tmp_path_factory: pytest.TempPathFactory,
    entries: list[tuple[bool, bytes, str]],
) -> None:
    base = tmp_path_factory.mktemp("fuzz")
    repo = make_repo(base / "proj", base / "home")
    outside = base / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_text("precious\n")
    r = pygit2.Repository(str(repo.root))
    top, blog = [], []
    for at_top, name, kind in entries:
        mode, oid = crafted(r, outside, kind)
        (top if at_top else blog).append((mode, name, oid))
    evil_ref(repo.root, top, blog)
    run_every_command(repo, outside)
    assert (outside / "victim.txt").read_text() == "precious\n"
