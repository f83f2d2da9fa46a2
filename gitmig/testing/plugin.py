"""gitmig's pytest plugin (the `pytest11` entry point `gitmig`).

Active only when pytest runs inside a project with `[tool.gitmig]` in its pyproject.toml.
It adds:

- `--gitmig-stairway`: one test item per migration, in graph order, that applies it,
  unapplies it and applies it again on a throwaway database, comparing catalogs
  (gitmig.testing.stairway); irreversible migrations are reported as skipped;
- `--gitmig-check`: test items for `makemigrations --check` and the lock files;
- `--gitmig-database URL`: the server the throwaway databases are made on (default:
  `test_database` in [tool.gitmig], else a SQLite file in a temporary folder);
- the `gitmig_migrator` fixture, to test a data migration against the historical tables.

Light to import: pytest loads it in every run of the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import sqlalchemy as sa

    from gitmig.config import Config
    from gitmig.testing.stairway import Stairway

_PROJECT = pytest.StashKey["Project | None"]()
DEFAULT_URL = "sqlite:///gitmig-test.sqlite3"  # only the kind: a fresh file is made per run


class Project:
    """The gitmig project pytest runs in, and the stairway shared by its items."""

    def __init__(self, path: Path, pytest_config: pytest.Config) -> None:
        self.path = path
        self.pytest_config = pytest_config
        self._config: Config | None = None
        self._stairway: Stairway | None = None
        self._closing: Any = None

    @property
    def config(self) -> Config:
        if self._config is None:
            from gitmig.config import load_config

            self._config = load_config(self.path)
        return self._config

    def url(self) -> str:
        given = self.pytest_config.getoption("gitmig_database")
        return server_url(self.path, str(given) if given else None)

    def stairway(self) -> Stairway:
        if self._stairway is None:
            from contextlib import ExitStack

            from gitmig.testing.stairway import opened

            stack = ExitStack()
            self._stairway = stack.enter_context(opened(self.config, self.url()))
            self._closing = stack
        return self._stairway

    def close(self) -> None:
        if self._closing is not None:
            self._closing.close()
            self._closing = None


def server_url(path: Path, given: str | None) -> str:
    """Where throwaway databases are made: `given`, else `test_database` in the project's
    [tool.gitmig], else a SQLite file."""
    if given:
        return given
    from gitmig.config import read_pyproject, sqlite_relative_to

    section = read_pyproject(path).get("tool", {}).get("gitmig", {})
    configured = section.get("test_database")
    if isinstance(configured, str) and configured:
        return sqlite_relative_to(configured, path.parent)
    return DEFAULT_URL


def _find_project(start: Path) -> Path | None:
    from gitmig.config import find_pyproject, read_pyproject

    try:
        path = start.resolve() if start.is_file() else find_pyproject(start)
        if path is None:
            return None
        section = read_pyproject(path).get("tool", {}).get("gitmig")
    except Exception:  # an unreadable pyproject is not this plugin's business
        return None
    return path if isinstance(section, dict) else None


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gitmig", "gitmig migrations")
    group.addoption("--gitmig-stairway", action="store_true",
                    help="Apply, unapply and apply again every migration on a throwaway "
                         "database, comparing catalogs.")
    group.addoption("--gitmig-check", action="store_true",
                    help="Check that the models and migrations agree and that lock files "
                         "match their migrations.")
    group.addoption("--gitmig-database", metavar="URL",
                    help="Make throwaway databases on this server (default: test_database "
                         "in [tool.gitmig], else SQLite).")


def pytest_configure(config: pytest.Config) -> None:
    import os

    explicit = os.environ.get("GITMIG_CONFIG")  # as gitmig's own --config (`gitmig test`)
    found = _find_project(Path(explicit)) if explicit else None
    if found is None:
        found = _find_project(Path(config.invocation_params.dir))
    if found is None:
        found = _find_project(Path(str(config.rootpath)))
    project = Project(found, config) if found is not None else None
    config.stash[_PROJECT] = project
    if project is not None:
        config.add_cleanup(project.close)


def _project(config: pytest.Config) -> Project | None:
    return config.stash.get(_PROJECT, None)


def _wanted(config: pytest.Config) -> bool:
    return bool(config.getoption("gitmig_stairway") or config.getoption("gitmig_check"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    project = _project(parent.config)
    if project is None or file_path != project.path or not _wanted(parent.config):
        return None
    return GitmigProject.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:
    """When pyproject.toml was not among the paths collected, the items come anyway."""
    project = _project(config)
    if project is None or not _wanted(config):
        return
    if any(isinstance(item, GitmigItem) for item in items):
        return
    collector = GitmigProject.from_parent(session, path=project.path)
    items.extend(collector.collect())


class GitmigProject(pytest.File):
    """The items of the project's pyproject.toml."""

    def collect(self) -> Iterator[GitmigItem]:
        project = _project(self.config)
        if project is None:
            return
        if self.config.getoption("gitmig_check"):
            yield CheckItem.from_parent(self, name="gitmig-models-match-migrations",
                                        kind="models")
            yield CheckItem.from_parent(self, name="gitmig-lock-files", kind="locks")
        if self.config.getoption("gitmig_stairway"):
            from gitmig.migrations.loader import load_graph

            for app, name in load_graph(project.config).order():
                yield StairwayItem.from_parent(self, name=f"gitmig-stairway[{app}.{name}]",
                                               key=(app, name))


class GitmigItem(pytest.Item):
    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.name

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        from gitmig.errors import GitmigError

        if isinstance(excinfo.value, (GitmigError, StairwayFailed)):
            text = str(getattr(excinfo.value, "message", excinfo.value))
            hint = getattr(excinfo.value, "hint", None)
            return text + (f"\nhint: {hint}" if hint else "")
        return str(super().repr_failure(excinfo))


class StairwayFailed(Exception):
    pass


class CheckItem(GitmigItem):
    def __init__(self, *, kind: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind

    def runtest(self) -> None:
        from gitmig.testing.stairway import check_locks, check_models

        project = _project(self.config)
        assert project is not None
        if self.kind == "models":
            check_models(project.config)
        else:
            check_locks(project.config)


class StairwayItem(GitmigItem):
    def __init__(self, *, key: tuple[str, str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.key = key

    def runtest(self) -> None:
        project = _project(self.config)
        assert project is not None
        from gitmig.testing.stairway import Broken

        stairway = project.stairway()
        if stairway.broken:
            pytest.skip(f"not run: {stairway.broken}, so the database is not as this "
                        "migration expects")
        try:
            result = stairway.step(self.key)
        except Broken as exc:
            raise StairwayFailed(f"{self.key[0]}.{self.key[1]}: {exc.message}") from None
        label = f"{self.key[0]}.{self.key[1]}"
        if result.problems:
            raise StairwayFailed(f"{label}: " + "\n  ".join(
                ["unapplying it does not give back the schema it was applied to:",
                 *result.problems]))
        if result.irreversible:
            pytest.skip(f"{label} is irreversible ({result.irreversible}); applied, not "
                        "unapplied")


class Migrator:
    """A throwaway database to walk a project's history on, for data-migration tests:
    `schema = migrator.migrate("blog", "0002")`, rows in through `schema.tables[...]`,
    then `migrate` to the next migration and assert on the rows."""

    def __init__(self, config: Config, url: str) -> None:
        import sqlalchemy as sa

        self.config = config
        self.url = url
        self.engine: sa.Engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    def migrate(self, app: str | None = None, target: str | None = None) -> sa.MetaData:
        """`gitmig migrate [APP [TARGET]]` on the throwaway database; the historical schema
        it is at afterwards."""
        from gitmig.actions.migrate import Options, migrate

        migrate(self.config, Options(app=app, target=target, database=self.url))
        return self.schema()

    def schema(self) -> sa.MetaData:
        """The tables as the applied migrations left them (not as today's models say)."""
        from gitmig.db.connection import connect
        from gitmig.db.ddl import historical_schema
        from gitmig.db.history.recorder import Recorder
        from gitmig.migrations.loader import load_graph
        from gitmig.migrations.replay import Replayer

        with connect(self.url, self.config.timeouts) as conn:
            recorder = Recorder(conn)
            applied = set(recorder.applied()) if recorder.has_table() else set()
        graph = load_graph(self.config)
        graph = graph.with_applied(applied)
        applied = graph.effective_applied(applied)
        keys = [k for k in graph.order() if k in applied]
        return historical_schema(Replayer(graph).state(keys))


@pytest.fixture
def gitmig_migrator(request: pytest.FixtureRequest) -> Iterator[Migrator]:
    """A Migrator on a fresh database of the project's test database kind, removed after."""
    project = _project(request.config)
    if project is None:
        pytest.fail("gitmig_migrator needs a project with [tool.gitmig] in its pyproject.toml",
                    pytrace=False)
    from gitmig.testing.stairway import scratch_database

    with scratch_database(project.url()) as url:
        migrator = Migrator(project.config, url)
        try:
            yield migrator
        finally:
            migrator.engine.dispose()


def pytest_report_header(config: pytest.Config) -> str | None:
    project = _project(config)
    if project is None or not _wanted(config):
        return None
    from gitmig.db.connection import display_url

    return f"gitmig: {project.path} (throwaway databases beside {display_url(project.url())})"

