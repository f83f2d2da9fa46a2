"""Migration files imported and their operations replayed into a schema state.

This is the only place migration files are executed; it runs files of the working tree
only, never those read from other branches or commits.
"""

from __future__ import annotations

import ast
import importlib.util
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from gitmig.errors import GitmigError
from gitmig.migrations import statecache
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph
from gitmig.migrations.loader import assignment
from gitmig.ops import Operation
from gitmig.schema.state import SchemaState


def _module_name(f: MigrationFile) -> str:
    return f"gitmig_migrations.{f.app}.m{f.name}"


def import_migration(f: MigrationFile) -> ModuleType:
    name = _module_name(f)
    spec = importlib.util.spec_from_file_location(name, f.path)
    if spec is None or spec.loader is None:
        raise GitmigError("cannot import migration", path=f.path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except GitmigError as exc:
        raise GitmigError(exc.message, path=f.path, line=_line_in(exc, f.path)) from None
    except (Exception, SystemExit) as exc:  # a user's file may raise anything, even exit
        raise GitmigError(
            f"cannot import migration: {type(exc).__name__}: {exc}",
            path=f.path,
            line=_line_in(exc, f.path),
        ) from None
    return module


def _line_in(exc: BaseException, path: str) -> int | None:
    if isinstance(exc, SyntaxError):
        return exc.lineno
    lines = [fr.lineno for fr in traceback.extract_tb(exc.__traceback__) if fr.filename == path]
    return lines[-1] if lines else None


def operations_of(f: MigrationFile) -> list[Operation]:
    module = import_migration(f)
    operations = getattr(module, "operations", None)
    if not isinstance(operations, (list, tuple)):
        raise GitmigError("`operations` must be a list of gitmig operations", path=f.path)
    for index, op in enumerate(operations):
        if not isinstance(op, Operation):
            raise GitmigError(
                f"`operations` holds {op!r}, which is not a gitmig operation",
                path=f.path,
                line=operation_line(f.path, index),
            )
    return list(operations)


class Replayer:
    """Replays a graph, importing each file at most once."""

    def __init__(self, graph: MigrationGraph) -> None:
        self.graph = graph
        self._ops: dict[Key, list[Operation]] = {}

    def imported(self) -> bool:
        """Whether any file was imported (a state was replayed, not read from a cache)."""
        return bool(self._ops)

    def operations(self, key: Key) -> list[Operation]:
        if key not in self._ops:
            self._ops[key] = operations_of(self.graph.nodes[key])
        return self._ops[key]

    def apply(self, state: SchemaState, key: Key) -> SchemaState:
        f = self.graph.nodes[key]
        for index, op in enumerate(self.operations(key)):
            try:
                state = op.state_forwards(state, f.app)
            except GitmigError as exc:
                raise GitmigError(
                    exc.message, path=f.path, line=operation_line(f.path, index)
                ) from None
        return state

    def state(self, keys: Iterable[Key] | None = None) -> SchemaState:
        """The state after the given migrations (all by default), applied in graph order."""
        if keys is None:
            return self._full_state()
        wanted = set(keys)
        state = SchemaState()
        for key in self.graph.order():
            if key in wanted:
                state = self.apply(state, key)
        return state

    def prefix(self, keys: list[Key]) -> SchemaState:
        """The state after `keys`, applied in the order given (graph order): from the
        state a previous run left for exactly these migrations when there is one
        (statecache.prefix_state), else replayed."""
        cached = statecache.prefix_state(self.graph, keys)
        if isinstance(cached, SchemaState):
            return cached
        if keys and keys == self.graph.order()[: len(keys)]:
            # the state of a whole graph whose migrations are exactly these (the replay
            # cache, left by makemigrations, showmigrations...): the same items, the same state
            whole = statecache.load("replay", statecache.replay_key(self.graph)[0])
            items = statecache.prefix_items(self.graph, keys)
            if (isinstance(whole, dict) and items is not None and whole.get("items") == items
                    and isinstance(whole.get("state"), SchemaState)):
                return whole["state"]
        state = SchemaState()
        for key in keys:
            state = self.apply(state, key)
        return state

    def _full_state(self) -> SchemaState:
        """All migrations replayed, starting from the cached state of an earlier prefix."""
        order = self.graph.order()
        scope, items = statecache.replay_key(self.graph)
        cacheable = all(d for _, _, d in items)
        cached = statecache.load("replay", scope) if cacheable else None
        state, done = SchemaState(), 0
        if isinstance(cached, dict) and items[: len(cached["items"])] == cached["items"]:
            state, done = cached["state"], len(cached["items"])
        for key in order[done:]:
            state = self.apply(state, key)
        if cacheable and done != len(items):
            statecache.store("replay", scope, {"items": items, "state": state})
        return state


def operation_line(path: str, index: int) -> int | None:
    """The line where the index-th entry of a file's `operations` list starts, if plain."""
    try:
        tree = ast.parse(Path(path).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None
    for node in tree.body:
        target, value = assignment(node)
        if target == "operations" and isinstance(value, (ast.List, ast.Tuple)):
            if index < len(value.elts):
                return value.elts[index].lineno
    return None
