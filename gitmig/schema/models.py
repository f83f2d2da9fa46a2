"""The project's models, imported and read into a schema state.

A table belongs to the app whose import put it into the MetaData: apps are imported one
after another in the configured order, and every Table SQLAlchemy creates meanwhile is
noted with the app being imported and the project module whose code created it. So a
mapped class re-exported with `from .recipe import *`, or association tables built in a
loop and kept nowhere, are the app's like any other. Apps may share one MetaData, so
ownership is decided per table, in this order: the app whose modules define it (the
module of its mapped class, or the module whose code built a plain Table), the app whose
import created it, the app whose modules expose it, and last the one app whose tables a
MetaData otherwise holds.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from gitmig import cache
from gitmig.config import DATABASE_ENV, AppConfig, Config
from gitmig.errors import GitmigError
from gitmig.schema import importwatch, typehooks
from gitmig.schema.canonical import name_limit, table_state
from gitmig.schema.state import SchemaState


def project_paths(config: Config) -> list[str]:
    return [str(config.root), *(str(p) for p in config.pythonpath)]


_PROJECT_ROOTS: set[str] = set()  # every project this process has imported models from


def _forget_project_modules(config: Config) -> None:
    """Drop earlier imports so a changed models file is read afresh (one process, many runs)."""
    roots = {app.models.split(".")[0] for app in config.apps.values()}
    _PROJECT_ROOTS.update(p.rstrip("/") + "/" for p in project_paths(config))
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None) or ""
        ours = file.startswith(tuple(_PROJECT_ROOTS)) and "site-packages" not in file
        if (name.split(".")[0] in roots or ours) and not name.startswith("gitmig"):
            del sys.modules[name]


@dataclass
class _Birth:
    """Where a Table came from: the app being imported, and the project module that made it."""

    table: sa.Table
    app: str | None
    module: str | None


class _Births:
    """Listens to SQLAlchemy creating Tables while the apps' models are imported."""

    def __init__(self, roots: Iterable[str]) -> None:
        self.roots = tuple(r.rstrip("/") + "/" for r in roots)
        self.app: str | None = None
        self.tables: dict[int, _Birth] = {}

    def __call__(self, table: Any, parent: Any) -> None:
        if isinstance(table, sa.Table) and isinstance(parent, sa.MetaData):
            self.tables[id(table)] = _Birth(table, self.app, self._creator())

    def _creator(self) -> str | None:
        """The project module whose code built the table, if a project module did.

        Library functions (SQLAlchemy's declarative machinery, Flask-SQLAlchemy's db.Table)
        are looked through; a library's own module-level code (the tables SQLAlchemy's
        PostgreSQL dialect defines for itself when imported) ends the search.
        """
        frame = sys._getframe(2)
        while frame is not None:
            file = frame.f_code.co_filename
            if file.startswith(self.roots) and "site-packages" not in file:
                name = frame.f_globals.get("__name__")
                return name if isinstance(name, str) else None
            if frame.f_code.co_name == "<module>":
                return None
            frame = frame.f_back  # type: ignore[assignment]
        return None

    @contextmanager
    def listening(self) -> Iterator[None]:
        sa.event.listen(sa.Table, "after_parent_attach", self)
        try:
            yield
        finally:
            sa.event.remove(sa.Table, "after_parent_attach", self)


# The Tables created by the last import_models, and the modules it returned.
_LAST_BIRTHS: dict[int, _Birth] = {}
_LAST_MODULES: list[ModuleType] = []
_LAST_IMPORTED: list[str] = []  # the names of the modules it loaded
_LAST_READS: list[importwatch.Reads] = []  # the variables and files it read


def import_models(config: Config) -> dict[str, ModuleType]:
    """Import every app's models module in the configured order, noting who made each table."""
    for p in reversed(project_paths(config)):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    importlib.invalidate_caches()
    _forget_project_modules(config)
    births = _Births(project_paths(config))
    modules = {}
    before = set(sys.modules)
    with births.listening(), importwatch.watching(births.roots) as reads:
        for app in config.apps.values():
            births.app = app.label
            modules[app.label] = _import_app(app, births.roots)
    _LAST_READS[:] = [reads]
    _LAST_BIRTHS.clear()
    _LAST_BIRTHS.update(births.tables)
    _LAST_MODULES[:] = modules.values()
    _LAST_IMPORTED[:] = [name for name in sys.modules if name not in before]
    return modules


class _HardExit(BaseException):
    """os._exit() called by models being imported: made an error, never a silent exit 0."""


def _hard_exit(status: int) -> None:
    raise _HardExit(status)


def _import_app(app: AppConfig, roots: tuple[str, ...]) -> ModuleType:
    hard_exit = os._exit
    os._exit = _hard_exit  # type: ignore[assignment]  # only while the models import
    try:
        with contextlib.redirect_stdout(sys.stderr):  # what models print is not our output
            return importlib.import_module(app.models)
    except _HardExit as exc:
        raise GitmigError(f"cannot import models of app {app.label!r}: the models called "
                          f"os._exit({exc.args[0]}) while being imported") from None
    except ModuleNotFoundError as exc:
        if exc.name and app.models.startswith(exc.name):
            raise GitmigError(
                f"cannot import models of app {app.label!r}: no module named {exc.name!r}; "
                "check [tool.gitmig.apps] (paths are relative to pyproject.toml)"
            ) from None
        raise _import_failure(app, exc, roots) from None
    except (Exception, SystemExit) as exc:  # the user's code may raise anything, even exit
        raise _import_failure(app, exc, roots) from None
    finally:
        os._exit = hard_exit


def _import_failure(app: AppConfig, exc: BaseException, roots: tuple[str, ...]) -> GitmigError:
    """The error at the user's own line: the last frame in the project's files.

    SQLAlchemy raises most mapping errors deep inside itself; the line a user can fix
    is the class statement or the call in their models that led there.
    """
    if isinstance(exc, SyntaxError) and exc.filename:
        return GitmigError(
            f"cannot import models of app {app.label!r}: syntax error: {exc.msg}",
            path=exc.filename,
            line=exc.lineno,
        )
    frames = traceback.extract_tb(exc.__traceback__)
    own = [f for f in frames if f.filename.startswith(roots) and "site-packages" not in f.filename]
    outside = [f for f in frames if "importlib" not in f.filename and "<frozen" not in f.filename]
    where = own[-1] if own else (outside[-1] if outside else None)
    text = " ".join(str(exc).split())  # SQLAlchemy's messages span lines; one line here
    message = f"cannot import models of app {app.label!r}: {type(exc).__name__}: {text}"
    if where is not None:
        return GitmigError(message, path=where.filename, line=where.lineno)
    return GitmigError(message)


def _module_family(modules: Iterable[ModuleType], root: str) -> list[ModuleType]:
    """The models module and its loaded submodules (a models package split in files)."""
    out = list(modules)
    prefix = root + "."
    for name, module in list(sys.modules.items()):
        if name.startswith(prefix) and module is not None:
            out.append(module)
    return out


def _registries_and_metadata(objects: Iterable[Any]) -> tuple[set[Any], list[sa.MetaData]]:
    registries: set[Any] = set()
    metadatas: list[sa.MetaData] = []

    def add_md(md: Any) -> None:
        if isinstance(md, sa.MetaData) and not any(md is m for m in metadatas):
            metadatas.append(md)

    for obj in objects:
        if isinstance(obj, sa.MetaData):
            add_md(obj)
        elif isinstance(obj, sa.Table):
            add_md(obj.metadata)
        elif isinstance(obj, orm.registry):
            registries.add(obj)
            add_md(obj.metadata)
        else:
            for candidate in (obj, getattr(obj, "Model", None)):
                reg = _safe_getattr(candidate, "registry")
                if isinstance(reg, orm.registry):
                    registries.add(reg)
                    add_md(reg.metadata)
                add_md(_safe_getattr(candidate, "metadata"))
            if isinstance(obj, type):
                mapper = _mapper_of(obj)
                if mapper is not None:
                    registries.add(mapper.registry)
                    add_md(mapper.registry.metadata)
    return registries, metadatas


def _mapper_of(obj: Any) -> orm.Mapper[Any] | None:
    try:
        mapper = sa.inspect(obj, raiseerr=False)
    except Exception:
        return None
    return mapper if isinstance(mapper, orm.Mapper) else None


def _safe_getattr(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    try:
        return getattr(obj, name, None)
    except Exception:
        return None


def models_state(config: Config, modules: dict[str, ModuleType] | None = None) -> SchemaState:
    """Import every app's models and return the schema they declare.

    Without `modules`, the state of the last import is reused while none of the project
    files that import read has changed (gitmig.cache).
    """
    if modules is not None:
        return _declared_state(config, modules)
    cached = cache.models_state(config.path)
    if isinstance(cached, SchemaState):
        return cached
    with importwatch.noting_output() as heard:  # what the models say, a record cannot
        state = _declared_state(config, import_models(config))
    project = _project_files(config)
    reads = _LAST_READS[0] if _LAST_READS else importwatch.Reads()
    cache.remember_models_state(config.path, project + _opened_files(config, reads), state,
                                _package_files(project) + _metadata_files(reads),
                                _imported_packages(project),
                                sorted(reads.environ), sorted(reads.missing),
                                _kept(config, reads.probes), relative=reads.relative,
                                quiet=not heard.said, talked=reads.talked)
    return state


def _opened_files(config: Config, reads: importwatch.Reads) -> list[str]:
    """Files the import opened and folders the project's code listed (ending with "/"),
    but those of installed packages and the standard library (their versions key them),
    and compiled bytecode: a project's own data file is read like its modules."""
    files = [f for f in _kept(config, reads.files) if os.path.isfile(f)]
    return files + _kept(config, [os.path.join(d, "") for d in reads.folders])


def _kept(config: Config, paths: Iterable[str]) -> list[str]:
    """The paths in the project, or in no folder of sys.path nor the standard library:
    the deeper folder decides (a virtual environment inside the project is not ours)."""
    import sysconfig

    ours = [os.path.join(p, "") for p in project_paths(config)]
    elsewhere = [os.path.join(p, "") for p in sys.path
                 if p and os.path.isabs(p) and os.path.join(p, "") not in ours]
    elsewhere.append(os.path.join(sysconfig.get_paths()["stdlib"], ""))

    def kept(path: str) -> bool:
        mine = max((len(p) for p in ours if path.startswith(p)), default=-1)
        theirs = max((len(p) for p in elsewhere if path.startswith(p)), default=-1)
        return mine >= theirs and f"{os.sep}__pycache__{os.sep}" not in path

    return sorted(p for p in paths if kept(p))


def _imported_packages(project: list[str]) -> list[str]:
    """The top-level modules the last import loaded, but the project's and the standard
    library's: the installed packages the models use beyond SQLAlchemy."""
    mine = set(project)
    files = {name: getattr(sys.modules.get(name), "__file__", None) for name in _LAST_IMPORTED}
    own = {name.partition(".")[0] for name, file in files.items() if file in mine}
    tops = {name.partition(".")[0] for name in files}
    return sorted(tops - own - set(sys.stdlib_module_names) - {"gitmig", "__main__"})


def _project_files(config: Config) -> list[str]:
    """Source files of the project's own modules now imported: what the models read."""
    roots = tuple(p.rstrip("/") + "/" for p in project_paths(config))
    files = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(roots) and "site-packages" not in file and os.path.isfile(file):
            files.append(file)  # a module's source, or its only file (bytecode, extension)
    return files


def _metadata_files(reads: importwatch.Reads) -> list[str]:
    """The installed distributions' metadata files the import read (importlib.metadata:
    a version, entry points), stamped like the packages' modules: an upgrade renames the
    .dist-info folder, and models that ask a distribution they do not import for its
    version must not be answered from before it."""
    return sorted(f for f in reads.files
                  if any(part.endswith((".dist-info", ".egg-info"))
                         for part in f.split(os.sep)[:-1]))


def _package_files(project: list[str]) -> list[str]:
    """Files of the other modules now imported, but the standard library's, gitmig's and
    SQLAlchemy's (the cache's code fingerprint covers those): installed packages and
    PYTHONPATH, whose column types an upgrade may change."""
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    std = tuple({os.path.join(stdlib, ""), os.path.join(os.path.realpath(stdlib), "")})
    own = tuple(os.path.join(os.path.dirname(m.__file__ or ""), "") for m in (cache, sa))
    mine = set(project)
    files = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if not isinstance(file, str) or not os.path.isabs(file) or file in mine:
            continue
        if file.startswith(own) or (file.startswith(std) and "-packages" not in file):
            continue  # site-packages and dist-packages may lie inside the stdlib's folder
        files.append(file)
    return files


class _Owners:
    """The evidence of which app a table is, strongest first (see the module docstring)."""

    def __init__(self, config: Config) -> None:
        # The most specific models module first, so a nested app wins over its parent.
        self.apps = sorted(config.apps.values(), key=lambda a: -len(a.models))
        self.defined: dict[int, str] = {}
        self.born: dict[int, str] = {}
        self.exposed: dict[int, str] = {}

    def app_of(self, module_name: str | None) -> str | None:
        if module_name is None:
            return None
        for app in self.apps:
            if module_name == app.models or module_name.startswith(app.models + "."):
                return app.label
        return None

    def owner(self, table: sa.Table) -> str | None:
        key = id(table)
        return self.defined.get(key) or self.born.get(key) or self.exposed.get(key)


def _declared_state(config: Config, modules: dict[str, ModuleType]) -> SchemaState:
    families = {label: _module_family([m], m.__name__) for label, m in modules.items()}
    exposed_values = [
        (label, value)
        for label, fam in families.items()
        for mod in fam
        for value in vars(mod).values()
    ]
    fresh = len(_LAST_MODULES) == len(modules) and all(
        a is b for a, b in zip(_LAST_MODULES, modules.values(), strict=True)
    )
    births = list(_LAST_BIRTHS.values()) if fresh else []
    # Tables a library makes for itself while imported (SQLAlchemy's own pg_catalog) are
    # not the project's: only MetaData the project's code reaches or fills is read.
    registries, metadatas = _registries_and_metadata(
        [v for _, v in exposed_values] + [b.table for b in births if b.module is not None]
    )
    owners = _Owners(config)
    for reg in registries:
        for mapper in reg.mappers:
            table = mapper.local_table
            if not isinstance(table, sa.Table):
                continue
            if mapper.inherits is not None and mapper.inherits.local_table is table:
                continue  # single-table inheritance: the base class's table
            app = owners.app_of(mapper.class_.__module__)
            if app is not None:
                owners.defined.setdefault(id(table), app)
    for birth in births:
        app = owners.app_of(birth.module)
        if app is not None:
            owners.defined.setdefault(id(birth.table), app)
        if birth.app is not None:
            owners.born.setdefault(id(birth.table), birth.app)
    for owner, value in exposed_values:
        table = value if isinstance(value, sa.Table) else None
        if table is None and isinstance(value, type):
            mapper = _mapper_of(value)
            if mapper is not None and isinstance(mapper.local_table, sa.Table):
                table = mapper.local_table
        if table is not None:
            owners.exposed.setdefault(id(table), owner)

    tables: dict[str, Any] = {}
    claimed: dict[str, tuple[str, sa.Table]] = {}
    limit = identifier_limit(config)
    for md in metadatas:
        found = {id(t): owners.owner(t) for t in md.tables.values()}
        sole = {a for a in found.values() if a is not None}
        for table in md.tables.values():
            label: str | None = found[id(table)]
            if label is None and len(sole) == 1:
                label = next(iter(sole))
            if label is None:
                continue
            with name_limit(limit), typehooks.honoured():
                state = table_state(table, app=label)
            earlier = claimed.get(state.key)
            if earlier is not None and earlier[1] is not table:
                raise _claimed_twice(state.key, earlier[0], label)
            claimed[state.key] = (label, table)
            tables[state.key] = state
    return SchemaState(tables)


# PostgreSQL's limit (MySQL and MariaDB take 64): names that fit it fit both.
DEFAULT_IDENTIFIER_LIMIT = 63


def identifier_limit(config: Config) -> int:
    """The longest name the configured database takes: its dialect's limit, or
    PostgreSQL's 63 when no database (or SQLite, which has none) is configured, so that
    names are those create_all makes on that database."""
    url = os.environ.get(DATABASE_ENV) or config.database
    if not url:
        return DEFAULT_IDENTIFIER_LIMIT
    try:
        parsed = sa.engine.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            return DEFAULT_IDENTIFIER_LIMIT  # any driver: no need to load its dialect
        dialect = parsed.get_dialect()
    except Exception:  # an unknown driver: makemigrations needs no connection
        return DEFAULT_IDENTIFIER_LIMIT
    if dialect.name == "sqlite":
        return DEFAULT_IDENTIFIER_LIMIT
    limits = [int(getattr(dialect, attr, 0) or 0) for attr in
              ("max_identifier_length", "max_index_name_length", "max_constraint_name_length")]
    return min([n for n in limits if n > 0] or [DEFAULT_IDENTIFIER_LIMIT])


def _claimed_twice(key: str, first: str, second: str) -> GitmigError:
    if first == second:
        return GitmigError(
            f"app {first!r} defines table {key} twice, in two different MetaData objects; "
            "keep one definition of each table"
        )
    return GitmigError(
        f"table {key} is defined by app {first!r} and by app {second!r}; a table belongs to "
        "one app: remove one of the definitions (or give them different names)"
    )
