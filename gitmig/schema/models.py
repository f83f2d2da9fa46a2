"""The project's models, imported and read into a schema state.

A table belongs to the app whose models module (or a submodule of it) defines it: the
module of its mapped class, or the module holding a plain Table. Apps may share one
MetaData, so ownership cannot come from the MetaData itself.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
import traceback
from collections.abc import Iterable
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from gitmig.config import AppConfig, Config
from gitmig.errors import GitmigError
from gitmig.migrations import statecache
from gitmig.schema.canonical import table_state
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


def import_models(config: Config) -> dict[str, ModuleType]:
    for p in reversed(project_paths(config)):
        if p in sys.path:
            sys.path.remove(p)
        sys.path.insert(0, p)
    importlib.invalidate_caches()
    _forget_project_modules(config)
    modules = {}
    for app in config.apps.values():
        modules[app.label] = _import_app(app)
    return modules


class _HardExit(BaseException):
    """os._exit() called by models being imported: made an error, never a silent exit 0."""


def _hard_exit(status: int) -> None:
    raise _HardExit(status)


def _import_app(app: AppConfig) -> ModuleType:
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
        raise _import_failure(app, exc) from None
    except (Exception, SystemExit) as exc:  # the user's code may raise anything, even exit
        raise _import_failure(app, exc) from None
    finally:
        os._exit = hard_exit


def _import_failure(app: AppConfig, exc: BaseException) -> GitmigError:
    frames = traceback.extract_tb(exc.__traceback__)
    user = [f for f in frames if "importlib" not in f.filename]
    where = user[-1] if user else (frames[-1] if frames else None)
    if isinstance(exc, SyntaxError) and exc.filename:
        return GitmigError(
            f"cannot import models of app {app.label!r}: syntax error: {exc.msg}",
            path=exc.filename,
            line=exc.lineno,
        )
    message = f"cannot import models of app {app.label!r}: {type(exc).__name__}: {exc}"
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
                mapper: Any = None
                try:
                    mapper = sa.inspect(obj, raiseerr=False)
                except Exception:
                    pass
                if isinstance(mapper, orm.Mapper):
                    registries.add(mapper.registry)
                    add_md(mapper.registry.metadata)
    return registries, metadatas


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
    files that import read has changed (gitmig.migrations.statecache).
    """
    if modules is not None:
        return _declared_state(config, modules)
    cached = statecache.models_state(config.path)
    if isinstance(cached, SchemaState):
        return cached
    state = _declared_state(config, import_models(config))
    statecache.remember_models_state(config.path, _project_files(config), state)
    return state


def _project_files(config: Config) -> list[str]:
    """Source files of the project's own modules now imported: what the models read."""
    roots = tuple(p.rstrip("/") + "/" for p in project_paths(config))
    files = []
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None) or ""
        if file.startswith(roots) and "site-packages" not in file and file.endswith(".py"):
            files.append(file)
    return files


def _declared_state(config: Config, modules: dict[str, ModuleType]) -> SchemaState:
    families = {label: _module_family([m], m.__name__) for label, m in modules.items()}
    all_objects = [
        value for fam in families.values() for mod in fam for value in vars(mod).values()
    ]
    registries, metadatas = _registries_and_metadata(all_objects)

    owners: dict[int, str] = {}
    for reg in registries:
        for mapper in reg.mappers:
            table = mapper.local_table
            if not isinstance(table, sa.Table):
                continue
            if mapper.inherits is not None and mapper.inherits.local_table is table:
                continue
            owners.setdefault(id(table), mapper.class_.__module__)
    for fam in families.values():
        for mod in fam:
            for value in vars(mod).values():
                if isinstance(value, sa.Table):
                    owners.setdefault(id(value), mod.__name__)

    def app_of(module_name: str | None) -> str | None:
        if module_name is None:
            return None
        for label, app in config.apps.items():
            if module_name == app.models or module_name.startswith(app.models + "."):
                return label
        return None

    tables = {}
    for md in metadatas:
        for table in md.tables.values():
            label = app_of(owners.get(id(table)))
            if label is None:
                continue
            state = table_state(table, app=label)
            tables[state.key] = state
    return SchemaState(tables)
