"""Bad input, command by command: one clear line, the right exit code, nothing changed.

Every case starts from the same committed project (blog app, one migration applied to
a SQLite file), breaks one thing, runs one command, and checks what the user sees:

- exit 2 (bad input) or 1 (a check that fails), and exactly one line on stderr,
  `gitmig: error: ...` (or `gitmig: ...` for a failed check), no traceback anywhere;
- every file under the project unchanged, byte for byte, .git included (its index,
  HEAD, refs, config, hooks) except git's object store, to which reading the index may
  add tree objects, and gitmig's own cache (.git/gitmig/);
- the database unchanged: its schema and every history row.

Some inputs are not errors at all (a detached HEAD, a repository mid-merge for a command
that does not read the index, a wrong password on a server that trusts every local
connection): for those the table says so and checks the documented behaviour instead.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from .conftest import Result, as_nobody, assert_refused
from .gitrepo import POST, Repo, make_repo
from .schema_compare import reflected_schema
from .test_passwords import mariadb_user, with_password  # noqa: F401 (a fixture)

Setup = Callable[["Env"], None]


@dataclass
class Env:
    repo: Repo
    tmp: Path
    env: dict[str, str]
    cwd: Path

    @property
    def root(self) -> Path:
        return self.repo.root

    @property
    def url(self) -> str:
        return f"sqlite:///{self.root / 'db.sqlite3'}"

    def write(self, relpath: str, text: str) -> None:
        self.repo.write(relpath, text)

    def sql(self, *statements: str) -> None:
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        try:
            with engine.begin() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
        finally:
            engine.dispose()


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    expect: str  # a part of the one line on stderr
    setup: Setup | None = None
    code: int = 2
    stdout: str | None = ""  # None: not checked (a command that reports as it goes)
    note: str = ""  # for inputs that are not errors: the documented behaviour


def pyproject(text: str) -> Setup:
    def setup(e: Env) -> None:
        e.write("pyproject.toml", text)
    return setup


def models(text: str) -> Setup:
    def setup(e: Env) -> None:
        e.write("blog/models.py", text)
    return setup


def migration(name: str, text: str) -> Setup:
    def setup(e: Env) -> None:
        e.write(f"blog/migrations/{name}.py", text)
    return setup


def both(*setups: Setup) -> Setup:
    def setup(e: Env) -> None:
        for s in setups:
            s(e)
    return setup


def env(**values: str) -> Setup:
    def setup(e: Env) -> None:
        e.env.update(values)
    return setup


def rewrite(relpath: str, old: str, new: str) -> Setup:
    def setup(e: Env) -> None:
        text = e.repo.read(relpath)
        assert old in text, (relpath, old)
        e.write(relpath, text.replace(old, new))
    return setup


GOOD_TOML = '[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n[tool.gitmig.apps]\n'

MIGRATION = '''"""{doc}"""
import sqlalchemy as sa

from gitmig import ops

parents = {parents}
operations = [
    {operation}
]
'''


def m(parents: str = '["0001_initial"]', operation: str = 'ops.RunSQL("SELECT 1", "SELECT 1"),',
      doc: str = "By hand.") -> str:
    return MIGRATION.format(parents=parents, operation=operation, doc=doc)


def no_git(e: Env) -> None:
    shutil.rmtree(e.root / ".git")


def bare(e: Env) -> None:
    """The project folder is a bare repository's folder: git data, no working tree."""
    bare_dir = e.tmp / "bare.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(e.root), str(bare_dir)], check=True,
                   env=e.repo.env(), capture_output=True)
    shutil.rmtree(e.root / ".git")
    for item in bare_dir.iterdir():
        shutil.move(str(item), e.root / item.name)


def unborn(e: Env) -> None:
    e.repo.git("checkout", "-q", "--orphan", "fresh")


def detached(e: Env) -> None:
    e.write("notes.txt", "x\n")
    e.repo.commit("notes.txt", message="notes")
    e.repo.git("checkout", "-q", "--detach", "HEAD~1")


def _diverge(e: Env) -> None:
    e.repo.git("checkout", "-q", "-b", "other")
    e.write("blog/models.py", e.repo.read("blog/models.py").replace("200", "250"))
    e.repo.commit("blog/models.py", message="other")
    e.repo.git("checkout", "-q", "main")
    e.write("blog/models.py", e.repo.read("blog/models.py").replace("200", "300"))
    e.repo.commit("blog/models.py", message="main")


def mid_merge(e: Env) -> None:
    _diverge(e)
    assert e.repo.git("merge", "-q", "other", check=False).exit_code != 0
    assert (e.root / ".git" / "MERGE_HEAD").exists()


def mid_rebase(e: Env) -> None:
    _diverge(e)
    assert e.repo.git("rebase", "-q", "other", check=False).exit_code != 0
    assert (e.root / ".git" / "rebase-merge").is_dir()


def history_rows(*values: str) -> Setup:
    def setup(e: Env) -> None:
        e.sql(*(f"INSERT INTO gitmig_migrations (app, name, checksum, applied_at) VALUES "
                f"({v}, CURRENT_TIMESTAMP)" for v in values))
    return setup


def history_column(ddl: str) -> Setup:
    def setup(e: Env) -> None:
        e.sql(f"ALTER TABLE gitmig_migrations ADD COLUMN {ddl}")
    return setup


def future_history(e: Env) -> None:
    """gitmig_migrations as a newer gitmig might make it: every column this one knows, and
    one more that it cannot fill."""
    e.sql("ALTER TABLE gitmig_migrations RENAME TO old_history",
          "CREATE TABLE gitmig_migrations (app VARCHAR(255) NOT NULL, name VARCHAR(255) NOT "
          "NULL, checksum VARCHAR(64) NOT NULL, applied_at DATETIME NOT NULL, git_commit "
          "VARCHAR(64), progress VARCHAR(32), file_sha256 VARCHAR(64), "
          "future_level INTEGER NOT NULL, PRIMARY KEY (app, name))",
          "INSERT INTO gitmig_migrations SELECT app, name, checksum, applied_at, git_commit, "
          "progress, file_sha256, 1 FROM old_history",
          "DROP TABLE old_history")


def staged_broken_models(e: Env) -> None:
    e.write("blog/models.py", "undefined_name + 1\n")
    e.repo.git("add", "blog/models.py")


def null_byte_migration(e: Env) -> None:
    (e.root / "blog/migrations/0002_x.py").write_bytes(b"parents = []\x00\n")


def latin1_migration(e: Env) -> None:
    (e.root / "blog/migrations/0002_x.py").write_bytes(
        b'parents = ["0001_initial"]\noperations = []\nname = "caf\xe9"\n')


def folder_named_like_a_migration(e: Env) -> None:
    (e.root / "blog/migrations/0002_dir.py").mkdir()


def broken_history_table(e: Env) -> None:
    e.sql("DROP TABLE gitmig_migrations", "CREATE TABLE gitmig_migrations (app TEXT)")


def not_a_database(e: Env) -> None:
    (e.root / "db.sqlite3").write_bytes(b"this is not a database, only some text " * 50)


def second_migration(e: Env) -> None:
    e.write("blog/migrations/0002_more.py", m())


BAD_URL = "postgresql://gm_user:Sup3r-S3cret@127.0.0.1:1/shop"

CASES = [
    # -- configuration ------------------------------------------------------------------
    Case("no-config-anywhere", ("showmigrations",),
         "no pyproject.toml with a [tool.gitmig] section", pyproject("[project]\nname='x'\n")),
    Case("toml-syntax", ("makemigrations",), "is not valid TOML",
         pyproject("[tool.gitmig\napps = 1\n")),
    Case("no-apps", ("migrate",), "no apps in [tool.gitmig.apps]",
         pyproject('[tool.gitmig]\ndatabase = "sqlite:///db.sqlite3"\n')),
    Case("app-not-a-module", ("showmigrations",), "must be \"module\" or",
         pyproject(GOOD_TOML + "blog = 5\n")),
    Case("bad-module-path", ("makemigrations",), "is not a Python module path",
         pyproject(GOOD_TOML + 'blog = "blog..models"\n')),
    Case("app-label-not-identifier", ("migrate",), "must be a Python identifier",
         pyproject(GOOD_TOML + '"my-blog" = "blog.models"\n')),
    Case("database-not-a-string", ("migrate",), "database in",
         pyproject('[tool.gitmig]\ndatabase = 5\n[tool.gitmig.apps]\nblog = "blog.models"\n')),
    Case("pythonpath-not-a-list", ("makemigrations", "--check"), "pythonpath",
         pyproject('[tool.gitmig]\npythonpath = "src"\n[tool.gitmig.apps]\n'
                   'blog = "blog.models"\n')),
    Case("section-not-a-table", ("status",), "has no [tool.gitmig] section",
         pyproject('[tool]\ngitmig = "yes"\n')),
    Case("config-option-missing-file", ("--config", "nope/pyproject.toml", "sqlmigrate", "blog",
                                        "0001"), "config file nope/pyproject.toml does not exist"),
    Case("config-env-missing-file", ("conflicts",), "does not exist",
         env(GITMIG_CONFIG="/nonexistent/pyproject.toml")),
    Case("migrations-folder-is-a-file", ("makemigrations",), "Not a directory; nothing was",
         both(pyproject(GOOD_TOML + 'blog = { models = "blog.models", migrations = '
                        '"blog/models.py" }\n'))),
    Case("no-database-configured", ("migrate",), "no database configured",
         pyproject('[tool.gitmig.apps]\nblog = "blog.models"\n')),
    # -- models -------------------------------------------------------------------------
    Case("models-module-missing", ("makemigrations",), "no module named 'blog.nomodels'",
         rewrite("pyproject.toml", 'blog = "blog.models"', 'blog = "blog.nomodels"')),
    Case("models-raise", ("makemigrations",), "NameError",
         models("import sqlalchemy as sa\nundefined_name + 1\n")),
    Case("models-syntax-error", ("makemigrations", "--check"), "blog/models.py",
         models("class Post(:\n")),
    Case("models-import-missing-package", ("makemigrations", "--dry-run"), "no_such_package",
         models("import no_such_package\n")),
    Case("models-call-sys-exit", ("makemigrations",),
         "models.py:2: cannot import models of app 'blog': SystemExit: 3",
         models("import sys\nsys.exit(3)\n")),
    Case("models-staged-broken", ("makemigrations", "--staged"), "NameError",
         staged_broken_models),
    # -- migration files ----------------------------------------------------------------
    Case("migration-syntax-error", ("migrate",), "0002_broken.py:9: syntax error",
         migration("0002_broken", m(operation="ops.RunSQL("))),
    Case("migration-missing-parent", ("showmigrations",), "parent 0001_nope does not exist",
         migration("0002_orphan", m(parents='["0001_nope"]'))),
    Case("migration-cycle", ("makemigrations",), "in a cycle",
         both(migration("0002_a", m(parents='["0003_b"]')),
              migration("0003_b", m(parents='["0002_a"]')))),
    Case("migration-duplicate-name", ("migrate",), "same name but for case",
         migration("0001_INITIAL", m(parents="[]"))),
    Case("migration-parent-unknown-app", ("sqlmigrate", "blog", "0001"), "not configured",
         migration("0002_x", m(parents='["shop.0001_initial"]'))),
    Case("migration-no-parents", ("migrate", "--plan"), "no `parents = [...]`",
         migration("0002_x", 'from gitmig import ops\noperations = []\n')),
    Case("migration-operations-not-a-list", ("migrate",), "must be a list",
         migration("0002_x", 'parents = ["0001_initial"]\noperations = 5\n')),
    Case("migration-raises-on-import", ("migrate",), "ZeroDivisionError",
         migration("0002_x", 'parents = ["0001_initial"]\n1 / 0\noperations = []\n')),
    Case("migration-null-byte", ("showmigrations",), "0002_x.py",
         null_byte_migration),
    Case("migration-not-utf8", ("migrate",), "0002_x.py",
         latin1_migration),
    Case("migration-bad-operation", ("migrate", "--plan"), "post",
         migration("0002_x", m(operation='ops.DropColumn("post", "nope"),'))),
    Case("several-leaves", ("migrate",), "has conflicting migrations, several are latest",
         both(migration("0002_a", m()), migration("0002_b", m())), code=1),
    Case("migration-sys-exit-on-import", ("migrate",), "0002_x.py",
         migration("0002_x", 'import sys\nparents = ["0001_initial"]\nsys.exit(4)\n'
                              'operations = []\n')),
    # -- command-line values --------------------------------------------------------------
    Case("name-path-traversal", ("makemigrations", "--empty", "-n", "../../evil"),
         "is not a plain name"),
    Case("name-empty", ("makemigrations", "--empty", "-n", ""), "--name must not be empty"),
    Case("name-spaces", ("makemigrations", "--empty", "-n", "add post slug"),
         "is not a plain name"),
    Case("name-non-ascii", ("makemigrations", "--empty", "-n", "café"), "is not a plain name"),
    Case("name-too-long", ("makemigrations", "--empty", "-n", "x" * 300), "characters long"),
    Case("name-dotted", ("makemigrations", "--empty", "-n", "a.b"), "is not a plain name"),
    Case("makemigrations-unknown-app", ("makemigrations", "nope"), "unknown app 'nope'"),
    Case("migrate-unknown-app", ("migrate", "nope"), "unknown app 'nope'"),
    Case("migrate-unknown-target", ("migrate", "blog", "0099"), "has no migration '0099'"),
    Case("migrate-ambiguous-target", ("migrate", "blog", "0"), "matches several",
         second_migration),
    Case("sqlmigrate-unknown-migration", ("sqlmigrate", "blog", "0042"), "no migration '0042'"),
    Case("sqlmigrate-unknown-dialect", ("sqlmigrate", "blog", "0001", "--dialect", "oracle"),
         "'oracle' is not one of"),
    Case("showmigrations-unknown-app", ("showmigrations", "nope"), "unknown app 'nope'"),
    Case("resolve-unknown-app", ("resolve", "nope"), "nope"),
    Case("resolve-merge-name-traversal", ("resolve", "blog", "--strategy", "merge", "-n",
                                          "../x"), "is not a plain name",
         both(migration("0002_a", m()), migration("0002_b", m()))),
    Case("resolve-name-without-merge", ("resolve", "--name", "x"), "--strategy merge"),
    Case("resolve-unknown-strategy", ("resolve", "--strategy", "squash"), "'squash' is not one"),
    Case("diff-unknown-revision", ("diff", "no-such-branch"), "unknown revision 'no-such-branch'"),
    Case("diff-three-revisions", ("diff", "HEAD", "HEAD", "HEAD"), "at most two revisions"),
    Case("conflicts-unknown-ref", ("conflicts", "--against", "no-such-branch"), "no-such-branch"),
    Case("graph-unknown-ref", ("graph", "--against", "no-such-branch"), "no-such-branch"),
    Case("graph-unknown-app", ("graph", "ghost"), "'ghost'"),
    Case("graph-no-repository", ("graph", "--all-branches"), "is not inside a git repository",
         no_git),
    Case("lint-unknown-ref", ("lint", "--against", "no-such-branch"), "no-such-branch"),
    Case("lint-unknown-app", ("lint", "ghost"), "'ghost'"),
    Case("erd-unknown-revision", ("erd", "no-such-rev"), "unknown revision 'no-such-rev'"),
    Case("erd-unknown-app-at-revision", ("erd", "HEAD", "ghost"), "'ghost'"),
    Case("diff-erd-and-json", ("diff", "--erd", "--json"), "either --erd or --json"),
    Case("unknown-command", ("migrat",), "No such command 'migrat'"),
    Case("unknown-option", ("migrate", "--fast"), "No such option '--fast'"),
    Case("rename-malformed", ("makemigrations", "--rename", "post.title"), "--rename"),
    Case("default-malformed", ("makemigrations", "--default", "views=0"), "--default"),
    Case("hooks-run-unknown-hook", ("hooks", "run", "pre-push"), "pre-push"),
    # -- databases ------------------------------------------------------------------------
    Case("unreachable-postgresql", ("migrate", "--database", BAD_URL),
         "cannot connect to the database postgresql://gm_user:***@127.0.0.1:1/shop"),
    Case("unreachable-mysql", ("showmigrations", "--database",
                               "mysql+pymysql://gm_user:Sup3r-S3cret@127.0.0.1:1/shop"),
         "cannot connect to the database"),
    Case("not-a-url", ("migrate", "--database", "not a url at all"),
         "not a valid SQLAlchemy URL"),
    Case("unknown-driver", ("migrate", "--database", "nosuchdb://u:p@h/d"), "cannot use"),
    Case("sqlite-folder-missing", ("migrate", "--database", "sqlite:////no/such/folder/x.db"),
         "cannot connect to the database"),
    Case("sqlite-not-a-database", ("migrate",), "file is not a database", not_a_database),
    Case("history-unknown-app", ("migrate",), "records migrations of app 'ghost'",
         history_rows("'ghost', '0001_initial', 'x'")),
    Case("history-unreadable-progress", ("migrate",),
         "blog.0002_more was interrupted while being applied",
         both(second_migration, history_column("progress_x VARCHAR(32)"),
              history_rows("'blog', '0002_more', 'x'"),
              lambda e: e.sql("UPDATE gitmig_migrations SET progress = 'resume 1/3' "
                              "WHERE name = '0002_more'"))),
    Case("history-extra-not-null-column", ("migrate",), "failed while recording it",
         both(second_migration, future_history), stdout=None),
    Case("history-table-broken", ("showmigrations",), "error from the database",
         broken_history_table),
    # -- git ------------------------------------------------------------------------------
    Case("diff-no-repository", ("diff",), "is not inside a git repository", no_git),
    Case("hooks-install-no-repository", ("hooks", "install"), "is not inside a git repository",
         no_git),
    Case("precommit-no-repository", ("hooks", "run", "pre-commit"),
         "is not inside a git repository", no_git),
    Case("diff-bare-repository", ("diff", "HEAD"), "bare repository", bare),
    Case("diff-unborn-branch", ("diff", "HEAD"), "has no commits yet", unborn),
    Case("makemigrations-rev-unborn", ("makemigrations", "--rev", "HEAD"), "has no commits yet",
         unborn),
    Case("diff-staged-mid-merge", ("diff", "--staged"), "unmerged", mid_merge),
    Case("diff-staged-mid-rebase", ("diff", "--staged"), "unmerged", mid_rebase),
    Case("precommit-mid-merge", ("hooks", "run", "pre-commit"), "unmerged", mid_merge),
    Case("diff-models-conflict-markers", ("diff",), "blog/models.py", mid_merge),
    # -- drift and adopt ------------------------------------------------------------------
    Case("drift-unreachable", ("drift", "--database", BAD_URL),
         "cannot connect to the database postgresql://gm_user:***@127.0.0.1:1/shop"),
    Case("test-unreachable", ("test", "--database", BAD_URL),
         "cannot create a throwaway database beside postgresql://gm_user:***@127.0.0.1:1/shop"),
    Case("adopt-unreachable", ("adopt", "--database", BAD_URL),
         "cannot connect to the database postgresql://gm_user:***@127.0.0.1:1/shop"),
    Case("adopt-retire-without-alembic", ("adopt", "--retire-alembic"),
         "--retire-alembic: this project has no Alembic configuration"),
    Case("drift-fleet-unknown", ("drift", "--fleet", "nope"),
         "unknown fleet 'nope' (configured fleets: none)"),
]

NOT_ERRORS = [
    Case("detached-head-diff", ("diff", "main"), "", detached, code=0, stdout=None,
         note="a detached HEAD is a revision like any other"),
    Case("detached-head-hooks-install", ("hooks", "install"), "", detached, code=0, stdout=None,
         note="hooks belong to the repository, not to a branch"),
    Case("detached-head-migrate", ("migrate",), "", both(detached, second_migration), code=0,
         stdout=None, note="migrate records the checked-out commit, detached or not"),
    Case("mid-merge-migrate", ("migrate", "--check"), "", mid_merge, code=0, stdout=None,
         note="migrate reads the working tree's migrations, not the index"),
    Case("status-models-do-not-import", ("status",), "", models("import no_such_package\n"),
         code=1, stdout=None, note="status is a check: it reports the problem and exits 1"),
    Case("history-unknown-migration", ("showmigrations",), "", history_rows(
        "'blog', '0007_from_elsewhere', 'x'"), code=0, stdout=None,
         note="a migration applied from another branch is listed as such, not an error"),
    Case("history-extra-nullable-column", ("migrate",), "", both(
        second_migration, history_column("future_note VARCHAR(20)")), code=0, stdout=None,
         note="a column a newer gitmig added is left alone"),
    Case("history-from-before-progress", ("migrate",), "", both(
        second_migration, lambda e: e.sql("ALTER TABLE gitmig_migrations DROP COLUMN progress")),
         code=0, stdout=None, note="a history table an earlier gitmig made gets the column"),
    Case("migration-folder-entry-not-a-file", ("showmigrations",), "",
         folder_named_like_a_migration, code=0, stdout=None,
         note="only files are migrations"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A committed project whose first migration is applied; each case works on a copy."""
    base = tmp_path_factory.mktemp("template")
    repo = make_repo(base / "proj", base / "home", POST)
    assert repo.gitmig("migrate").exit_code == 0
    (base / "proj" / ".gitignore").write_text("*.sqlite3\n__pycache__/\n")
    return base


def fresh(template: Path, tmp: Path) -> Env:
    shutil.copytree(template / "proj", tmp / "proj", symlinks=True)
    (tmp / "home").mkdir()
    repo = Repo(tmp / "proj", tmp / "home")
    return Env(repo, tmp, {}, repo.root)


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root, by content, but git's objects, gitmig's cache and the
    SQLite database (compared by its schema and rows instead)."""
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith((".git/objects/", ".git/gitmig/")) or rel.startswith("db.sqlite3"):
            continue
        if "__pycache__" in path.parts or path.is_dir():
            continue
        out[rel] = "link:" + os.readlink(path) if path.is_symlink() else hashlib.sha256(
            path.read_bytes()).hexdigest()
    return out


def database_state(url: str) -> Any:
    """The schema and every row of every table (or the file's bytes, if it is no database)."""
    path = Path(sa.engine.make_url(url).database or "")
    if not path.exists():
        return None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            rows = {t: sorted(map(repr, conn.execute(sa.text(f"SELECT * FROM {t}"))))
                    for t in names}
        return reflected_schema(url, exclude=()), rows
    except sa.exc.DatabaseError:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    finally:
        engine.dispose()


def run(e: Env, case: Case) -> Result:
    return e.repo.gitmig(*case.args, cwd=e.cwd, env=e.env)


def assert_one_line(result: Result, code: int) -> str:
    if code == 2:
        return assert_refused(result)
    assert "Traceback" not in result.output, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), result.stderr
    prefix = "gitmig: error: " if code == 2 else "gitmig: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    case: Case, template: Path, tmp_path: Path
) -> None:
    e = fresh(template, tmp_path)
    if case.setup is not None:
        case.setup(e)
    files = tree_digest(e.root)
    database = database_state(e.url)

    result = run(e, case)

    assert result.exit_code == case.code, result.output
    line = assert_one_line(result, case.code)
    assert case.expect in line, line
    if case.stdout is not None:
        assert result.stdout == case.stdout
    assert tree_digest(e.root) == files
    assert database_state(e.url) == database


@pytest.mark.parametrize("case", NOT_ERRORS, ids=[c.id for c in NOT_ERRORS])
def test_inputs_that_are_not_errors(case: Case, template: Path, tmp_path: Path) -> None:
    e = fresh(template, tmp_path)
    if case.setup is not None:
        case.setup(e)
    result = run(e, case)
    assert result.exit_code == case.code, (case.note, result.output)
    assert "Traceback" not in result.output
    assert EXPECTED_BEHAVIOUR[case.id](e, result), (case.note, result.output)


def _applied(url: str) -> list[tuple[str, str, str | None]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(  # type: ignore[misc]
                "SELECT app, name, git_commit FROM gitmig_migrations ORDER BY name"))]
    finally:
        engine.dispose()


def _progress_column(url: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        return "progress" in {c["name"] for c in sa.inspect(engine).get_columns(
            "gitmig_migrations")}
    finally:
        engine.dispose()


def _head(e: Env) -> str:
    return e.repo.git("rev-parse", "HEAD").stdout.strip()


EXPECTED_BEHAVIOUR: dict[str, Callable[[Env, Result], Any]] = {
    "detached-head-diff": lambda e, r: r.stdout.startswith("No schema changes between main"),
    "detached-head-hooks-install": lambda e, r: (e.root / ".git/hooks/pre-commit").is_file(),
    "detached-head-migrate": lambda e, r: _applied(e.url)[-1] == ("blog", "0002_more", _head(e)),
    "mid-merge-migrate": lambda e, r: r.stdout == "The database is up to date.\n",
    "status-models-do-not-import": lambda e, r: "No module named 'no_such_package'" in r.stdout,
    "history-unknown-migration": lambda e, r: "0007_from_elsewhere  (applied, but its file is "
                                              "missing" in r.stdout,
    "history-extra-nullable-column": lambda e, r: [n for _, n, _ in _applied(e.url)] == [
        "0001_initial", "0002_more"],
    "history-from-before-progress": lambda e, r: r.stdout.startswith(
        "Applying blog.0002_more... OK") and _progress_column(e.url) and [
            n for _, n, _ in _applied(e.url)] == ["0001_initial", "0002_more"],
    "migration-folder-entry-not-a-file": lambda e, r: r.stdout == "blog\n [X] 0001_initial\n",
}


def test_every_command_meets_bad_input() -> None:
    """The table covers every command gitmig has (and at least 40 bad inputs)."""
    from gitmig.cli import COMMANDS

    assert len(CASES) >= 40
    covered = {a for c in CASES for a in c.args if a in COMMANDS}
    assert covered >= set(COMMANDS) - {"init"}, set(COMMANDS) - covered


def test_init_with_bad_input_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    """init works on a folder, not a configured project: its own bad inputs."""
    from .conftest import Project

    project = Project(tmp_path / "p")
    project.write("pyproject.toml", "[project\nname = 'broken'\n")
    project.write("blog/__init__.py", "")
    project.write("blog/models.py", "")
    before = project.snapshot()
    for args, expect in [
        (("init", "--app", "blog"), "--app"),
        (("init", "--app", "my-blog=blog.models"), "my-blog"),
        (("init", "--app", "blog=blog.models"), "is not valid TOML"),
    ]:
        result = project.gitmig(*args)
        assert result.exit_code == 2, result.output
        assert expect in assert_one_line(result, 2)
        assert project.snapshot() == before


@pytest.mark.slow
def test_a_read_only_project_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    """makemigrations in a project the user may not write to (as root: as nobody)."""
    folder = Path(tempfile.mkdtemp(prefix="gitmig-ro-"))
    try:
        folder.chmod(0o755)
        repo = make_repo(folder / "proj", tmp_path / "home", POST)
        repo.write("blog/models.py", repo.read("blog/models.py") + "    slug: Mapped[str]\n")
        for path in [folder / "proj", *(folder / "proj").rglob("*")]:
            if path.is_dir() and ".git" not in path.parts:
                path.chmod(0o555)
        files = tree_digest(folder / "proj")
        command = [sys.executable, "-m", "gitmig", "makemigrations", "--no-input",
                   "--default", "post.slug=x"]
        if os.geteuid() == 0:
            command = [*as_nobody(folder), *command]
        proc = subprocess.run(command, cwd=folder / "proj", capture_output=True, text=True,
                              env={**os.environ, "HOME": str(folder)}, timeout=60)
        result = Result(proc.returncode, proc.stdout, proc.stderr)
        assert result.exit_code == 2, result.output
        line = assert_one_line(result, 2)
        assert "blog/migrations" in line and "ermission denied" in line, line
        assert tree_digest(folder / "proj") == files
        if command[0] == "setpriv":
            # Another user's repository: git itself refuses it (safe.directory), and so
            # does every command that reads git.
            diff = subprocess.run([*command[:4], sys.executable, "-m", "gitmig", "diff"],
                                  cwd=folder / "proj", capture_output=True, text=True,
                                  env={**os.environ, "HOME": str(folder)}, timeout=60)
            result = Result(diff.returncode, diff.stdout, diff.stderr)
            assert result.exit_code == 2, result.output
            line = assert_one_line(result, 2)
            assert line.startswith(f"gitmig: error: cannot open the git repository at "
                                   f"{folder / 'proj' / '.git'}: "), line
            assert "not owned by current user" in line
            assert tree_digest(folder / "proj") == files
    finally:
        for path in [folder, *folder.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(folder)


# -- passwords that are wrong (tests/test_passwords.py: and never shown) ----------------------


def test_a_wrong_password_on_mariadb_is_one_line_and_changes_nothing(
    template: Path, tmp_path: Path, mariadb_user: str, mysql_url: str  # noqa: F811
) -> None:
    e = fresh(template, tmp_path)
    wrong = with_password(mariadb_user)
    assert e.repo.gitmig("migrate", "--database", with_password(mariadb_user, "the-right-one"),
                         ).exit_code == 0
    files, schema = tree_digest(e.root), reflected_schema(mysql_url, exclude=())
    for command in (("migrate",), ("showmigrations",), ("sqlmigrate", "blog", "0001"),
                    ("migrate", "blog", "zero")):
        result = e.repo.gitmig(*command, "--database", wrong)
        assert result.exit_code == 2, result.output
        line = assert_one_line(result, 2)
        assert "cannot connect to the database" in line and "Access denied" in line, line
        assert result.stdout == ""
        assert tree_digest(e.root) == files
        assert reflected_schema(mysql_url, exclude=()) == schema


def test_a_wrong_password_on_a_trusting_postgresql_is_not_an_error(
    template: Path, tmp_path: Path, postgres_url: str
) -> None:
    """Not an error here: this server trusts local TCP connections (pg_hba `trust`), so
    PostgreSQL never asks for the password; gitmig connects and works as usual."""
    e = fresh(template, tmp_path)
    wrong = with_password(postgres_url)
    result = e.repo.gitmig("showmigrations", "--database", wrong)
    assert (result.exit_code, result.stdout, result.stderr) == (0, "blog\n [ ] 0001_initial\n", "")
