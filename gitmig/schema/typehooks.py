"""Types whose DDL a project changes with `@compiles` (sqlalchemy.ext.compiler).

`@compiles(sa.DateTime, "mysql")` returning "DATETIME(6)" changes what `create_all` makes,
but only in a process that imported the models: `migrate` never imports them, so a
migration must say DATETIME(6) itself. While the models are read (and only then: replayed
migrations describe what they wrote, hooks or not), a type a hook compiles on a database is
replaced, for that database, by a SQLAlchemy type that writes the same DDL with no hook
(`mysql.DATETIME(fsp=6)`), found by the dialect's own parser of reflected types and
checked by compiling it. DDL no SQLAlchemy type writes is refused, naming the hook. A
project's own type class is left alone: a migration imports it, and so its hooks.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine

from gitmig.errors import GitmigError

_ON: list[bool] = [False]


@contextlib.contextmanager
def honoured() -> Iterator[None]:
    """Let project `@compiles` hooks decide types, while the models are read."""
    saved = _ON[0]
    _ON[0] = True
    try:
        yield
    finally:
        _ON[0] = saved


def hook(t: TypeEngine[Any], dialect: Dialect) -> Callable[..., Any] | None:
    """The project's function that compiles `t` on `dialect`, if one does (and hooks count)."""
    return hook_named(t, dialect.name)


def hook_named(t: TypeEngine[Any], name: str) -> Callable[..., Any] | None:
    """hook() by the dialect's name alone, which is all it reads: asking needs no dialect
    object (building those imports SQLAlchemy's dialect modules)."""
    if not _ON[0] or not type(t).__module__.startswith("sqlalchemy."):
        return None  # a project's own type is imported by the migration, with its hooks
    for cls in type(t).__mro__:
        if "_compiler_dispatch" not in cls.__dict__:
            continue
        dispatcher = cls.__dict__.get("_compiler_dispatcher")
        specs = getattr(dispatcher, "specs", None)
        if not isinstance(specs, dict):
            return None
        fn = specs.get(name) or specs.get("default")
        if fn is None or getattr(fn, "__name__", "") == "_wrap_existing_dispatch":
            return None  # only other dialects are hooked: this one compiles as SQLAlchemy does
        return fn
    return None


def _spelled(ddl: str) -> str:
    return " ".join(ddl.split()).lower()


def unhooked(t: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    """A type that writes, with no hook, the DDL the project's hook writes for `t`."""
    fn = hook(t, dialect)
    if fn is None:
        return t
    ddl = str(t.compile(dialect=dialect))
    for candidate in _candidates(ddl, dialect):
        try:
            if hook(candidate, dialect) is None and _spelled(
                str(candidate.compile(dialect=dialect))
            ) == _spelled(ddl):
                return candidate
        except Exception:  # a guess SQLAlchemy cannot compile: try the next one
            continue
    raise GitmigError(
        f"type {type(t).__name__} is compiled by {fn.__module__}.{fn.__name__} "
        f"(@compiles) to {ddl!r} on {dialect.name}, which no SQLAlchemy type writes; "
        "a migration cannot import that hook: give the column that type for "
        f"{dialect.name} with .with_variant(..., {dialect.name!r})"
    )


_DDL = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ ]*?)\s*(?:\((.*)\))?\s*$", re.S)


def _candidates(ddl: str, dialect: Dialect) -> Iterator[TypeEngine[Any]]:
    """Types that may write `ddl`: the dialect's reflection parser first, then by name."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "did not recognize type": the next guess follows
        parsed = _reflected(ddl, dialect)
    if parsed is not None:
        yield parsed
    match = _DDL.match(ddl)
    if match is None:
        return
    name, args = match.group(1), match.group(2) or ""
    numbers = [int(a) for a in re.findall(r"-?\d+", args)]
    names = getattr(dialect, "ischema_names", {}) or {}
    classes = [names.get(name.lower()), getattr(sa, name.upper(), None)]
    for cls in classes:
        if not (isinstance(cls, type) and issubclass(cls, TypeEngine)):
            continue
        for keywords in (("length",), ("precision", "scale"), ("fsp",)):
            with contextlib.suppress(Exception):
                yield cls(**dict(zip(keywords, numbers, strict=False)))
        with contextlib.suppress(Exception):
            yield cls(*numbers)


def _reflected(ddl: str, dialect: Dialect) -> TypeEngine[Any] | None:
    """What the dialect's reflection makes of this DDL, as if read from the database."""
    head, _, rest = ddl.strip().partition("(")
    text = head.lower() + ("(" + rest if rest else "")
    try:
        if dialect.name in ("mysql", "mariadb"):
            from sqlalchemy.dialects.mysql.reflection import ReflectedState

            state = ReflectedState()
            dialect._tabledef_parser._parse_column(f"  `x` {text},", state)  # type: ignore[attr-defined]
            found = state.columns[0]["type"] if state.columns else None
        elif dialect.name == "postgresql":
            found = dialect._reflect_type(text, None, "x", None)  # type: ignore[attr-defined]
        elif dialect.name == "sqlite":
            found = dialect._resolve_type_affinity(ddl)  # type: ignore[attr-defined]
        else:
            return None
    except Exception:  # private parsers change between SQLAlchemy versions
        return None
    return found if isinstance(found, TypeEngine) else None
