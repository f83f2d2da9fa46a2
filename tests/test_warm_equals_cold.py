"""Every shortcut is exact (issue 14): a warm run prints, exits, leaves the schema and the
history rows exactly as a cold one does, on SQLite, PostgreSQL and MariaDB, and a damaged
cache (every entry truncated, or garbage) changes nothing but the time.

Each everyday command runs as a user types it (`python -m gitmig ...`, whole processes),
on a database brought to the same starting point before each run:

- cold: `GITMIG_NO_CACHE=1` and an empty cache folder;
- warm: the same command a second time, the cache filled by the first (the database put
  back to the starting point in between);
- truncated / garbage: every file of the filled cache cut to half its bytes, or replaced
  by bytes that are no pickle, just before the command.

Timings (`OK (12 ms)`) and `applied_at` are masked; nothing else is. Marked slow (each
case starts a dozen processes), except the determinism check at the end.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gitmig.db.catalog import read_catalog_url

from .conftest import BASE
from .gitrepo import Repo, make_repo

TAG = """
class Tag(Base):
    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)
"""
SLUG = """    slug: Mapped[str | None] = mapped_column(sa.String(50), index=True)
"""
POST_TAG = """
class PostTag(Base):
    __tablename__ = "post_tag"
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("post.id"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(sa.ForeignKey("tag.id"), primary_key=True)
"""
POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String({length}))
"""
BODY = """    body: Mapped[str | None] = mapped_column(sa.Text)
"""

# The history the tests run: 0001 post; 0002 tag and post.slug with its index; 0003 a
# longer title (a table rebuild on SQLite) and post_tag with two foreign keys; 0004 body.
STAGES = [
    POST.format(length=200) + SLUG + TAG,
    POST.format(length=300) + SLUG + TAG + POST_TAG,
    POST.format(length=300) + SLUG + BODY + TAG + POST_TAG,
]
FINAL_MODELS = STAGES[-1]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Repo:
    """One committed project with four migrations, copied for each test."""
    base = tmp_path_factory.mktemp("warmcold")
    repo = make_repo(base / "proj", base / "home")
    for i, body in enumerate(STAGES, start=2):
        repo.write("blog/models.py", BASE + body)
        made = repo.gitmig("makemigrations", "--no-input")
        assert made.exit_code == 0, made.output
        assert repo.commit(message=f"stage {i}").exit_code == 0
    assert len(repo.migrations("blog")) == 4
    return repo


@dataclass(frozen=True)
class Seen:
    """What a user sees of one command, and what it leaves in the database."""

    exit_code: int
    stdout: str
    stderr: str
    catalog: Any
    history: list[dict[str, Any]] | None


TIMING = re.compile(r"\(\d+ ms\)")
APPLIED_AT = re.compile(r'"applied_at": "[^"]*"')


def mask(text: str) -> str:
    return APPLIED_AT.sub('"applied_at": "<at>"', TIMING.sub("(N ms)", text))


class Run:
    """A copy of the template project against one database, run as a user runs it."""

    def __init__(self, template: Repo, tmp_path: Path, url: str) -> None:
        self.root = tmp_path / "proj"
        shutil.copytree(template.root, self.root, symlinks=True)
        self.home = template.home
        self.cache = tmp_path / "cache"
        self.url = url

    def env(self, cold: bool) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GITMIG_CACHE_DIR=str(self.cache), GITMIG_DATABASE_URL=self.url,
                   HOME=str(self.home))
        env.pop("GITMIG_NO_CACHE", None)
        if cold:
            env["GITMIG_NO_CACHE"] = "1"
        return env

    def gitmig(self, args: list[str], cold: bool) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=self.root,
                              env=self.env(cold), capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=600)

    def prepare(self, steps: list[list[str]], cold: bool) -> None:
        reset(self.url)
        for step in steps:
            done = self.gitmig(step, cold)
            assert done.returncode == 0, (step, done.stdout, done.stderr)

    def seen(self, commands: list[list[str]], cold: bool) -> list[Seen]:
        out = []
        for args in commands:
            done = self.gitmig(args, cold)
            assert "Traceback" not in done.stderr, done.stderr
            out.append(Seen(done.returncode, mask(done.stdout), mask(done.stderr),
                            catalog(self.url), history(self.url)))
        return out


def reset(url: str) -> None:
    """The database emptied: no table, type or history left."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        for f in path.parent.glob(path.name + "*"):
            f.unlink()
        return
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.begin() as conn:
            if parsed.get_backend_name() == "postgresql":
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
            else:
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 0"))
                for table in sa.inspect(conn).get_table_names():
                    conn.execute(sa.text(f"DROP TABLE `{table}`"))
                conn.execute(sa.text("SET FOREIGN_KEY_CHECKS = 1"))
    finally:
        engine.dispose()


def catalog(url: str) -> Any:
    """gitmig's own catalog reader; a SQLite file no command made is no catalog."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return None
    return read_catalog_url(url)


def history(url: str) -> list[dict[str, Any]] | None:
    """Every row and column of gitmig_migrations but applied_at, in key order."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").exists():
        return None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table("gitmig_migrations"):
                return None
            rows = conn.execute(sa.text("SELECT * FROM gitmig_migrations")).mappings().all()
    finally:
        engine.dispose()
    masked = [{k: v for k, v in r.items() if k != "applied_at"} for r in rows]
    return sorted(masked, key=lambda r: (r["app"], r["name"]))


def damage(cache: Path, how: str) -> int:
    """Every file of the cache truncated to half, or garbage; how many were damaged."""
    n = 0
    for f in sorted(p for p in cache.rglob("*") if p.is_file()):
        data = f.read_bytes()
        f.write_bytes(data[: len(data) // 2] if how == "truncated"
                      else b"\x80\x05garbage, not a pickle" + data[:7])
        n += 1
    return n


# (setup steps, commands compared): each starts from an empty database.
SCENARIOS: dict[str, tuple[list[list[str]], list[list[str]]]] = {
    "migrate-from-empty": ([], [["migrate"]]),
    "migrate-nothing-to-do": ([["migrate"]], [["migrate"], ["migrate", "--check"]]),
    "migrate-one-pending": ([["migrate", "blog", "0003"]], [["migrate"]]),
    "migrate-two-pending": ([["migrate", "blog", "0002"]], [["migrate"]]),
    "showmigrations": ([["migrate", "blog", "0002"]],
                       [["showmigrations"], ["showmigrations", "--plan"],
                        ["showmigrations", "--json"]]),
    "sqlmigrate": ([], [["sqlmigrate", "blog", "0003"], ["sqlmigrate", "blog", "0002",
                                                        "--backwards"]]),
    "makemigrations-check": ([], [["makemigrations", "--check"]]),
    "drift": ([["migrate"]], [["drift"]]),
}


# Entries each scenario's warm run can take (besides the parsed files every run reads).
USED = {
    "migrate-from-empty": {"parsed"},
    "migrate-nothing-to-do": {"parsed", "expected-catalog"},
    "migrate-one-pending": {"parsed", "prefix", "expected-catalog"},
    "migrate-two-pending": {"parsed", "prefix", "expected-catalog"},
    "showmigrations": {"parsed"},
    "sqlmigrate": {"parsed"},
    "makemigrations-check": {"parsed", "models", "replay"},
    "drift": {"parsed", "expected-catalog"},
}


@pytest.mark.slow  # a dozen whole processes per case
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_warm_runs_equal_the_cold_run(template: Repo, tmp_path: Path, database_url: str,
                                      scenario: str) -> None:
    setup, commands = SCENARIOS[scenario]
    run = Run(template, tmp_path, database_url)

    run.prepare(setup, cold=True)
    cold = run.seen(commands, cold=True)
    assert not run.cache.exists() or not any(run.cache.iterdir()), "NO_CACHE wrote entries"
    assert all(s.exit_code == 0 for s in cold), cold

    for attempt in ("first", "warm"):  # the first run fills the cache, the second uses it
        run.prepare(setup, cold=False)
        assert run.seen(commands, cold=False) == cold, attempt
    kinds = {f.name.rsplit("-", 1)[0] for f in run.cache.iterdir()}
    assert USED[scenario] <= kinds, kinds  # the warm run had entries to take
    if scenario.endswith("pending") and database_url.startswith("sqlite"):
        assert {"sqlpath-step", "sqlpath-catalog"} <= kinds, kinds  # recorded SQL
    for how in ("truncated", "garbage"):
        run.prepare(setup, cold=False)
        assert damage(run.cache, how) > 0
        assert run.seen(commands, cold=False) == cold, how


@pytest.mark.slow
def test_pending_model_change_warm_equals_cold(template: Repo, tmp_path: Path,
                                               database_url: str) -> None:
    """`makemigrations --check` with a change to make: exit 1 and the same lines, then
    back in sync, answered from the cache, `No changes detected.` as a full run says."""
    run = Run(template, tmp_path, database_url)
    models = run.root / "blog" / "models.py"
    synced = models.read_text()
    changed = synced + "    views: Mapped[int | None] = mapped_column(sa.Integer)\n"
    check = [["makemigrations", "--check"]]

    models.write_text(changed)
    cold_changed = run.seen(check, cold=True)
    models.write_text(synced)
    cold_synced = run.seen(check, cold=True)
    assert cold_changed[0].exit_code == 1 and cold_synced[0].exit_code == 0

    for _ in range(2):
        models.write_text(changed)
        assert run.seen(check, cold=False) == cold_changed
        models.write_text(synced)
        assert run.seen(check, cold=False) == cold_synced


# -- entries keyed by the database they depend on ------------------------------------------


@contextmanager
def latin1_database(url: str) -> Iterator[str]:
    """A second database on the MariaDB server of `url`, whose default character set and
    collation (latin1) its tables inherit."""
    parsed = sa.engine.make_url(url)
    name = f"gm_l1_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(parsed, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {name} CHARACTER SET latin1 "
                                 "COLLATE latin1_swedish_ci"))
        try:
            yield parsed.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name}"))
    finally:
        admin.dispose()


def drift_check(run: Run, url: str, cold: bool) -> list[Seen]:
    run.url = url
    run.prepare([["migrate", "blog", "0002"], ["migrate"]], cold)
    return run.seen([["migrate", "--check"], ["drift"]], cold)


def test_a_catalog_remembered_on_one_database_is_not_used_for_another(
        template: Repo, tmp_path: Path, mysql_url: str) -> None:
    """What the applied migrations make depends on the database's own defaults on MariaDB
    (its character set and collation, which a scratch database copies): a catalog
    remembered for a utf8mb4 database must not judge a latin1 one on the same server."""
    run = Run(template, tmp_path, mysql_url)
    with latin1_database(mysql_url) as latin1:
        cold = drift_check(run, latin1, cold=True)
        assert [s.exit_code for s in cold] == [0, 0], cold
        drift_check(run, mysql_url, cold=False)  # remembers utf8mb4's catalogs
        drift_check(run, mysql_url, cold=False)

        warm = drift_check(run, latin1, cold=False)

        assert warm == cold


def test_a_sqlite_catalog_is_not_used_for_a_server(template: Repo, tmp_path: Path,
                                                   postgres_url: str, mysql_url: str) -> None:
    """One cache, one project, the same migrations on three databases in turn: each
    database's drift check and listing are what its cold run says."""
    run = Run(template, tmp_path, postgres_url)
    sqlite_url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    urls = [sqlite_url, postgres_url, mysql_url]
    cold = {url: drift_check(run, url, cold=True) for url in urls}
    for url in urls:  # each now finds the other two databases' entries in the cache
        assert drift_check(run, url, cold=False) == cold[url], url


def test_a_table_rebuild_is_the_same_sql_in_every_process(template: Repo,
                                                         tmp_path: Path) -> None:
    """A SQLite table rebuild lists the table's foreign keys and indexes in the order they
    were declared, not in the order of a set of objects (which follows their addresses,
    and so changed with the process: two runs printed two different scripts)."""
    run = Run(template, tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    outputs = set()
    for seed in range(6):
        env = {**run.env(cold=True), "PYTHONHASHSEED": str(seed)}
        done = subprocess.run([sys.executable, "-m", "gitmig", "sqlmigrate", "blog", "0003"],
                              cwd=run.root, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1
    assert ("    FOREIGN KEY(post_id) REFERENCES post (id),\n"
            "    FOREIGN KEY(tag_id) REFERENCES tag (id)\n") in outputs.pop()


def upgraded_answers_as_cold(root: Path, pythonpath: Path, cache_dir: Path,
                             upgrade: Callable[[], None]) -> None:
    """makemigrations, then a warm check in sync; after `upgrade` (of something on
    `pythonpath` the models read), the warm check says what the cold one says: a change."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath), "GITMIG_CACHE_DIR": str(cache_dir)}
    env.pop("GITMIG_NO_CACHE", None)

    def gitmig(*args: str, cold: bool = False) -> tuple[int, str, str]:
        done = subprocess.run([sys.executable, "-m", "gitmig", *args], cwd=root,
                              env={**env, "GITMIG_NO_CACHE": "1"} if cold else env,
                              capture_output=True, text=True, stdin=subprocess.DEVNULL)
        return done.returncode, done.stdout, done.stderr

    assert gitmig("makemigrations", "--no-input")[0] == 0
    assert gitmig("makemigrations", "--check") == (0, "No changes detected.\n", "")
    upgrade()

    cold = gitmig("makemigrations", "--check", cold=True)

    assert cold[0] == 1, cold
    assert gitmig("makemigrations", "--check") == cold


def test_a_package_the_models_import_is_part_of_the_key(tmp_path: Path) -> None:
    """A column type from an installed package (here one on PYTHONPATH, outside the
    project) that changes with an upgrade changes the models: the remembered models'
    state must not answer for the new version."""
    from .conftest import blog_project

    lib = tmp_path / "lib" / "shoptypes"
    lib.mkdir(parents=True)
    (lib / "__init__.py").write_text("LENGTH = 20\n")
    project = blog_project(tmp_path / "proj")
    project.write("blog/models.py", BASE + """
import shoptypes


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(shoptypes.LENGTH))
""")
    upgraded_answers_as_cold(project.root, lib.parent, tmp_path / "cache", lambda: (
        lib / "__init__.py").write_text("LENGTH = 300  # the package's next version\n"))


def test_a_distribution_s_version_the_models_ask_for_is_part_of_the_key(
        tmp_path: Path) -> None:
    """Models that size a column by an installed distribution's version
    (importlib.metadata), without importing it: upgrading that distribution renames its
    .dist-info folder, and the remembered models' state must not answer for the new
    version. (It did: only the modules imported were keyed.)"""
    from .conftest import blog_project

    lib = tmp_path / "lib"
    meta = lib / "shopkit-1.0.dist-info"
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: shopkit\nVersion: 1.0\n")
    project = blog_project(tmp_path / "proj")
    project.write("blog/models.py", BASE + """
import importlib.metadata

LENGTH = 20 if importlib.metadata.version("shopkit") == "1.0" else 300


class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(LENGTH))
""")
    def upgrade() -> None:  # as pip leaves one: the folder renamed
        upgraded = meta.rename(lib / "shopkit-2.0.dist-info")
        (upgraded / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: shopkit\nVersion: 2.0\n")

    upgraded_answers_as_cold(project.root, lib, tmp_path / "cache", upgrade)


@pytest.mark.slow
def test_an_ignored_table_is_not_remembered_as_made_by_the_migrations(
        template: Repo, tmp_path: Path, database_url: str) -> None:
    """A table `ignore_tables` hides is in the live catalog a clean `migrate` remembers as
    what its migrations make; once the setting is dropped, the table is unmanaged, and a
    warm drift check must say so as the cold one does."""
    run = Run(template, tmp_path, database_url)
    pyproject = run.root / "pyproject.toml"
    plain = pyproject.read_text()
    ignoring = plain.replace("[tool.gitmig]\n", '[tool.gitmig]\nignore_tables = ["legacy_*"]\n')
    commands = [["migrate", "--check"], ["drift"]]

    def prepare(cold: bool) -> None:
        pyproject.write_text(ignoring)
        run.prepare([["migrate", "blog", "0002"]], cold)
        engine = sa.create_engine(run.url, poolclass=sa.pool.NullPool)
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE legacy_orders (id INTEGER PRIMARY KEY)"))
        engine.dispose()
        done = run.gitmig(["migrate"], cold)  # begins with no drift: remembers the catalog
        assert done.returncode == 0, done.stderr
        pyproject.write_text(plain)

    prepare(cold=True)
    cold = run.seen(commands, cold=True)
    assert "legacy_orders" in cold[1].stdout + cold[1].stderr, cold

    prepare(cold=False)

    assert run.seen(commands, cold=False) == cold
