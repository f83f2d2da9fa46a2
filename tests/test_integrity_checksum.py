"""A migration's checksum covers everything it runs: an edit anywhere but its number, its
parents and its docstring is an edit (issue 11, cases a and b), and what an older gitmig
recorded is upgraded when the file is unchanged."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from gitmig.migrations import lockfile
from gitmig.migrations.loader import _legacy_checksum, parse_migration

from .gitrepo import Repo, make_repo

SEED = '''"""seed the posts"""
from gitmig import ops

SQL = "INSERT INTO post (id, title) VALUES (1, 'from main')"

parents = ["0001_initial"]
operations = [ops.RunSQL(SQL, reverse_sql="DELETE FROM post WHERE id = 1")]
'''


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    return make_repo(tmp_path / "proj", tmp_path / "home")


def ok(repo: Repo, *args: str) -> str:
    result = repo.gitmig(*args)
    assert result.exit_code == 0, result.output
    return result.output


def titles(repo: Repo) -> list[str]:
    with sqlite3.connect(repo.root / "db.sqlite3") as conn:
        return [r[0] for r in conn.execute("SELECT title FROM post ORDER BY id")]


def seeded(repo: Repo, name: str = "0002_seed", text: str = SEED) -> Path:
    path = repo.write(f"blog/migrations/{name}.py", text)
    ok(repo, "makemigrations", "--no-input")  # brings the lock file up to date
    assert repo.commit(message=name).exit_code == 0
    ok(repo, "migrate")
    return path


def parsed(text: str, name: str = "0002_seed"):
    return parse_migration("blog", name, text, f"{name}.py")


def test_checksum_covers_module_level_code_but_not_number_parents_or_docstring() -> None:
    base = parsed(SEED)
    assert base.checksum.startswith("v2:")
    assert parsed(SEED, "0003_seed").checksum == base.checksum
    assert parsed(SEED.replace('["0001_initial"]', '["0002_other"]')).checksum == base.checksum
    assert parsed(SEED.replace("seed the posts", "seeds")).checksum == base.checksum
    assert parsed(SEED.replace("\n\n", "\n\n\n# a comment\n")).checksum == base.checksum
    for edit in (SEED.replace("from main", "edited"),
                 SEED.replace("from gitmig import ops", "from gitmig import ops\nimport os"),
                 SEED + "\ndef helper():\n    return 1\n",
                 SEED + "\nprint('hello')\n"):
        assert parsed(edit).checksum != base.checksum, edit
    # A module that reads its own parents runs them: then they count.
    reads = SEED + "\nNOTE = parents[0]\n"
    assert (parsed(reads).checksum
            != parsed(reads.replace('["0001_initial"]', '["0002_other"]')).checksum)


def test_an_edited_constant_in_an_applied_committed_migration_is_seen_everywhere(
    repo: Repo,
) -> None:
    ok(repo, "hooks", "install")
    path = seeded(repo)
    assert titles(repo) == ["from main"]
    path.write_text(SEED.replace("from main", "edited later"))

    check = repo.gitmig("migrate", "--check")
    assert check.exit_code == 1, check.output
    assert "blog.0002_seed was edited after it was applied" in check.output

    shown = repo.gitmig("showmigrations")
    assert "0002_seed" in shown.output and "edited" in shown.output, shown.output

    status = repo.gitmig("status")
    assert status.exit_code == 1, status.output
    assert "0002_seed" in status.output and "edited" in status.output, status.output

    conflicts = repo.gitmig("conflicts")
    assert conflicts.exit_code == 1, conflicts.output
    assert "0002_seed changed since it was committed" in conflicts.output, conflicts.output

    before = repo.commits()
    run = repo.commit(message="edit history")
    assert run.exit_code != 0, run.output
    assert "0002_seed" in run.stderr
    assert repo.commits() == before


def test_a_branch_migration_with_a_different_constant_is_not_main_s_renamed(
    repo: Repo,
) -> None:
    """(b) The database applied the branch's 0002_fix; main's 0002_seed runs the same
    operation over a different constant: it is a migration of its own, to apply."""
    repo.git("checkout", "-q", "-b", "fix")
    seeded(repo, "0002_fix", SEED.replace("from main", "from the branch"))
    assert titles(repo) == ["from the branch"]
    repo.git("checkout", "-q", "main")
    repo.write("blog/migrations/0002_seed.py",
               SEED.replace("(1, ", "(2, ").replace("id = 1", "id = 2"))
    ok(repo, "makemigrations", "--no-input")
    assert repo.commit(message="seed").exit_code == 0

    shown = repo.gitmig("showmigrations")
    assert "[ ] 0002_seed" in shown.output, shown.output
    assert "renumbered" not in ok(repo, "migrate", "--plan") + shown.output
    check = repo.gitmig("migrate", "--check")
    assert check.exit_code == 1, check.output
    assert "1 migration to apply" in check.output


def _as_an_older_gitmig_left_it(repo: Repo, edited_after: bool) -> str:
    """Rewrite the history row and the lock file with format 1 checksums."""
    text = (repo.root / "blog/migrations/0002_seed.py").read_text()
    tree = ast.parse(text)
    ops_node = next(n.value for n in tree.body if isinstance(n, ast.Assign)
                    and getattr(n.targets[0], "id", "") == "operations")
    legacy = _legacy_checksum(tree, ops_node)
    with sqlite3.connect(repo.root / "db.sqlite3") as conn:
        for (name,) in conn.execute("SELECT name FROM gitmig_migrations").fetchall():
            f = parsed((repo.root / f"blog/migrations/{name}.py").read_text(), name)
            conn.execute("UPDATE gitmig_migrations SET checksum = ? WHERE name = ?",
                         (f.legacy_checksum, name))
    files = [parsed((repo.root / f"blog/migrations/{n}.py").read_text(), n)
             for n in ("0001_initial", "0002_seed")]
    lock = lockfile.Lock("0002_seed", lockfile.chain((f.name, f.legacy_checksum) for f in files))
    (repo.root / "blog/migrations/gitmig.lock").write_text(lockfile.render("blog", lock))
    assert repo.commit(message="as an older gitmig left it").exit_code == 0
    if edited_after:
        (repo.root / "blog/migrations/0002_seed.py").write_text(
            text.replace("operations = [", "operations = [ops.RunSQL('SELECT 1'), "))
    return legacy


def stored(repo: Repo) -> dict[str, str]:
    with sqlite3.connect(repo.root / "db.sqlite3") as conn:
        return dict(conn.execute("SELECT name, checksum FROM gitmig_migrations"))


def test_checksums_an_older_gitmig_recorded_are_upgraded_when_the_file_is_unchanged(
    repo: Repo,
) -> None:
    seeded(repo)
    _as_an_older_gitmig_left_it(repo, edited_after=False)
    assert not any(c.startswith("v2:") for c in stored(repo).values())

    assert "edited" not in ok(repo, "showmigrations")
    assert repo.gitmig("status").exit_code == 0
    assert ok(repo, "conflicts") is not None
    ok(repo, "migrate", "--check")
    assert not any(c.startswith("v2:") for c in stored(repo).values())  # --check writes nothing

    out = ok(repo, "migrate")
    assert out.count("upgraded the checksums of 2 applied migrations") == 1, out
    assert all(c.startswith("v2:") for c in stored(repo).values())
    assert "upgraded" not in ok(repo, "migrate")

    made = ok(repo, "makemigrations", "--no-input")
    assert "Upgraded blog/migrations/gitmig.lock" in made, made
    assert "v2:" not in repo.read("blog/migrations/gitmig.lock")  # a chain, not checksums
    assert "Upgraded" not in ok(repo, "makemigrations", "--no-input")
    assert ok(repo, "conflicts") is not None


def test_an_old_format_checksum_of_an_edited_file_is_an_edit(repo: Repo) -> None:
    seeded(repo)
    legacy = _as_an_older_gitmig_left_it(repo, edited_after=True)
    check = repo.gitmig("migrate", "--check")
    assert check.exit_code == 1, check.output
    assert "blog.0002_seed was edited after it was applied" in check.output
    out = repo.gitmig("migrate")
    assert "upgraded the checksums of 1 applied migration " in out.output, out.output
    assert stored(repo)["0002_seed"] == legacy  # kept: it still reads as edited
    assert "blog.0002_seed was edited after it was applied" in out.output


def test_the_upgrade_of_recorded_checksums_on_every_database(
    repo: Repo, database_url: str
) -> None:
    import sqlalchemy as sa

    repo.write("pyproject.toml", repo.read("pyproject.toml").replace(
        'database = "sqlite:///db.sqlite3"', f'database = "{database_url}"'))
    repo.write("blog/migrations/0002_seed.py", SEED)
    ok(repo, "migrate")
    files = {n: parsed((repo.root / f"blog/migrations/{n}.py").read_text(), n)
             for n in ("0001_initial", "0002_seed")}
    engine = sa.create_engine(database_url)
    table = sa.table("gitmig_migrations", sa.column("name"), sa.column("checksum"))
    with engine.begin() as conn:
        for name, f in files.items():
            conn.execute(table.update().where(table.c.name == name)
                         .values(checksum=f.legacy_checksum))
    check = repo.gitmig("migrate", "--check")
    assert check.exit_code == 0, check.output
    out = ok(repo, "migrate")
    assert "upgraded the checksums of 2 applied migrations" in out
    with engine.connect() as conn:
        rows = dict(conn.execute(sa.select(table.c.name, table.c.checksum)).all())
    engine.dispose()
    assert rows == {n: f.checksum for n, f in files.items()}
