"""Shared fixtures: real projects in temporary folders, real databases, the real CLI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

from gitmig.cli import run

from .catalog import fresh_database

if TYPE_CHECKING:
    from .gitrepo import Repo

# A shell that starts pytest in the background (`pytest &` in a script) leaves Ctrl-C
# ignored, and the gitmig processes the tests interrupt would inherit that: Ctrl-C is given
# back its usual meaning, so the interruption tests test gitmig, not how pytest was started.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# Files are rewritten within the same second in tests; stale bytecode would hide edits.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
# Each test session gets its own state cache, so no run reuses another's entries.
# So does each pytest-xdist worker: it inherits the environment of the process that started
# it, whose folder made here (not one the user set) it replaces by one of its own.
if os.environ.get("PYTEST_XDIST_WORKER") and "GITMIG_TEST_MADE_CACHE_DIR" in os.environ and (
        os.environ.get("GITMIG_CACHE_DIR") == os.environ["GITMIG_TEST_MADE_CACHE_DIR"]):
    os.environ.pop("GITMIG_CACHE_DIR")
if "GITMIG_CACHE_DIR" not in os.environ:
    os.environ["GITMIG_CACHE_DIR"] = tempfile.mkdtemp(prefix="gitmig-cache-")
    os.environ["GITMIG_TEST_MADE_CACHE_DIR"] = os.environ["GITMIG_CACHE_DIR"]

settings.register_profile(
    "default",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "ci",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

POSTGRES_URL = os.environ.get("GITMIG_TEST_POSTGRES_URL")
MYSQL_URL = os.environ.get("GITMIG_TEST_MYSQL_URL")

# A test is on a server when it takes one of these fixtures, or is the server case of a
# parametrized test (`database_url`, or a `db`/`kind`/`family` param naming the server).
SERVER_FIXTURES = {"postgres_url", "mysql_url"}
SERVER_PARAMS = {"postgresql", "mysql", "postgres_url", "mysql_url"}

def pytest_sessionstart(session: pytest.Session) -> None:
    """Bytecode of gitmig itself is compiled once: the gitmig processes tests start read it
    (they write none, see above), instead of compiling every module each time. Under
    pytest-xdist the process that starts the workers does it, before they start."""
    if hasattr(session.config, "workerinput"):
        return
    import compileall

    import gitmig

    compileall.compile_dir(str(Path(gitmig.__file__).parent), quiet=1)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The fast run (`-m "not slow"`) is SQLite only: a test that needs the PostgreSQL or
    MariaDB server is part of the full run, which `.ci/run` makes."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        params = set(map(str, callspec.params.values())) if callspec is not None else set()
        on_server = SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) or (
            SERVER_PARAMS & params
        )
        if on_server:
            item.add_marker(pytest.mark.slow)


@click.command(
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    sys.exit(run(list(args)))


@dataclass
class Result:
    """What a user saw of one command: gitmig through the CLI, git, or a Python run."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def assert_refused(
    result: Result,
    before: dict[str, bytes] | None = None,
    after: dict[str, bytes] | None = None,
) -> str:
    """A refusal as the user must see it: exit 2, exactly one `gitmig: error:` line on stderr
    (then at most one `hint:` line), no traceback anywhere, and, when the files `before` the
    command are given, the files `after` it (read again by the caller) equal to them.
    Returns the error line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output, result.output
    lines = result.stderr.strip().splitlines()
    assert lines and lines[0].startswith("gitmig: error: "), result.stderr
    assert len(lines) == 1 or (len(lines) == 2 and lines[1].startswith("hint: ")), result.stderr
    if before is not None:
        assert after is not None, "give the files after the command too"
        changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        assert not changed, f"a refused command changed {changed}"
    return lines[0]


def as_nobody(cwd: Path) -> list[str]:
    """The command prefix that runs a command as the unprivileged user `nobody` (for tests
    run as root), after checking that user can start this Python and import gitmig from
    `cwd`: a clone inside a private (0700) folder, or a venv there, is out of its reach,
    and the test is then skipped saying so rather than failing for a reason not its own."""
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv to drop privileges")
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    try:
        probe = subprocess.run([*prefix, sys.executable, "-c", "import gitmig.cli"], cwd=cwd,
                               capture_output=True, text=True, timeout=60)
    except OSError as exc:
        pytest.skip(f"the user nobody cannot run {sys.executable}: {exc}")
    if probe.returncode != 0:
        reason = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        pytest.skip(f"the user nobody cannot run {sys.executable} and import gitmig "
                    f"(is the checkout or venv in a private folder?): {reason}")
    return prefix


class Project:
    """A user's project in a temporary folder: pyproject.toml, apps, models."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def write(self, relpath: str, text: str) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        return path

    def read(self, relpath: str) -> str:
        return (self.root / relpath).read_text()

    def migrations(self, app: str) -> list[str]:
        folder = self.root / app / "migrations"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))

    def snapshot(self) -> dict[str, bytes]:
        """Every file under the project, to prove a failed command changed nothing."""
        return {
            str(p.relative_to(self.root)): p.read_bytes()
            for p in sorted(self.root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    def gitmig(self, *args: str, input: str | None = None, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> Result:
        runner = CliRunner()
        old = Path.cwd()
        os.chdir(cwd or self.root)
        try:
            r = runner.invoke(_entry, list(args), input=input, env=env, catch_exceptions=False)
        finally:
            os.chdir(old)
        return Result(r.exit_code, r.stdout, r.stderr)


BASE = """
import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass
"""


@pytest.fixture
def repo(tmp_path: Path) -> Repo:
    """A committed git repository holding a `blog` app with its initial migration
    (tests.gitrepo.make_repo), its git HOME beside it."""
    from .gitrepo import make_repo

    return make_repo(tmp_path / "proj", tmp_path / "home")


def blog_project(root: Path, database: str = "sqlite:///db.sqlite3") -> Project:
    """An empty project with one app, `blog`, its models module holding only a Base."""
    p = Project(root)
    p.write(
        "pyproject.toml",
        f"""
        [project]
        name = "proj"

        [tool.gitmig]
        database = "{database}"

        [tool.gitmig.apps]
        blog = "blog.models"
        """,
    )
    p.write("blog/__init__.py", "")
    p.write("blog/models.py", BASE)
    return p


def apps_project(root: Path, database: str, apps: list[str], base: str) -> Project:
    """A project whose apps (`APP.models` each) share the Base that `core/db.py` holds."""
    p = Project(root)
    listed = "".join(f'{app} = "{app}.models"\n' for app in apps)
    config = f'[tool.gitmig]\ndatabase = "{database}"\n[tool.gitmig.apps]\n{listed}'
    p.write("pyproject.toml", config)
    for package in ("core", *apps):
        p.write(f"{package}/__init__.py", "")
    p.write("core/db.py", base)
    return p


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """An empty project with one app, `blog`, configured against a SQLite file."""
    return blog_project(tmp_path / "proj")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES_URL:
        pytest.skip("GITMIG_TEST_POSTGRES_URL is not set")
    with fresh_database(POSTGRES_URL) as url:
        yield url


@pytest.fixture
def mysql_url() -> Iterator[str]:
    if not MYSQL_URL:
        pytest.skip("GITMIG_TEST_MYSQL_URL is not set")
    with fresh_database(MYSQL_URL) as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite3'}"


@pytest.fixture(params=["sqlite", "postgresql", "mysql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on SQLite, PostgreSQL and MariaDB."""
    fixture = {"sqlite": "sqlite_url", "postgresql": "postgres_url", "mysql": "mysql_url"}
    return str(request.getfixturevalue(fixture[request.param]))
