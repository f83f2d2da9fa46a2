"""A column type as the source text that rebuilds it, decided per database.

A migration never imports the project's code, so a TypeDecorator or a type with variants
is written as what it stores: SQLAlchemy is asked what the type becomes on each database
gitmig supports (`with_variant`, `TypeDecorator.load_dialect_impl`, a project's `@compiles`
while the models are read), and the file gets one
type when every database agrees, otherwise the most common one with `.with_variant(...)`
for each database that differs. The text is canonical: rebuilding a type from it and
writing it again gives the same text, so models and replayed migrations compare equal.
"""

from __future__ import annotations

import ast
import functools
import io
import tokenize
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from gitmig.errors import GitmigError
from gitmig.schema import typehooks
from gitmig.schema.serializer import literal

# Module prefixes used in type source text; the writer imports what a file uses.
DIALECT_PREFIXES = {
    "sqlalchemy.dialects.postgresql": "postgresql",
    "sqlalchemy.dialects.mysql": "mysql",
    "sqlalchemy.dialects.sqlite": "sqlite",
}
# The databases a type is resolved for; "mariadb" is MySQL's dialect reached by a
# mariadb:// URL, which sees only the variants given for "mariadb".
DIALECT_NAMES = ("sqlite", "postgresql", "mysql", "mariadb")

_SA_TYPE_NAMES = {
    n
    for n in dir(sa)
    if isinstance(getattr(sa, n), type) and issubclass(getattr(sa, n), TypeEngine)
}


@functools.cache
def dialects() -> dict[str, Dialect]:
    from sqlalchemy.dialects import mysql, postgresql, sqlite
    from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect

    return {
        "sqlite": sqlite.dialect(),
        "postgresql": postgresql.dialect(),
        "mysql": mysql.dialect(),
        "mariadb": MariaDBDialect(),
    }


@functools.cache
def _default_dialect() -> Dialect:
    """No database in particular: what a type is when no variant applies."""
    from sqlalchemy.engine.default import DefaultDialect

    return DefaultDialect()


@functools.cache
def _dialect_modules() -> tuple[Any, ...]:
    from sqlalchemy.dialects import mysql, postgresql, sqlite

    return (sa, postgresql, mysql, sqlite)


def _is_public(cls: type) -> bool:
    """Importable by the name a migration file would use (sa.X, postgresql.X...)."""
    return any(getattr(m, cls.__name__, None) is cls for m in _dialect_modules())


def _prefix_for(cls: type) -> str:
    module = cls.__module__
    if module.startswith("sqlalchemy.") and getattr(sa, cls.__name__, None) is cls:
        return "sa"
    for mod, prefix in DIALECT_PREFIXES.items():
        if module.startswith(mod):
            return prefix
    if module.startswith("sqlalchemy."):
        return "sa"
    return module


# -- what a type stores on one database ---------------------------------------------------


def _decorator(t: TypeEngine[Any]) -> bool:
    """A project's TypeDecorator; SQLAlchemy's own (Interval, PickleType) are importable."""
    return isinstance(t, TypeDecorator) and not _is_public(type(t))


def depends_on_dialect(t: TypeEngine[Any]) -> bool:
    if t._variant_mapping or _decorator(t):
        return True
    if any(typehooks.hook_named(t, name) is not None for name in DIALECT_NAMES):
        return True  # a project's @compiles for some database (gitmig.schema.typehooks)
    item = getattr(t, "item_type", None)
    return isinstance(item, TypeEngine) and depends_on_dialect(item)


def stored_type(t: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    """The type `t` stands for on `dialect`, without variants or decorators."""
    for _ in range(50):
        if dialect.name in t._variant_mapping:
            t = t._variant_mapping[dialect.name]
        elif _decorator(t):
            try:
                impl = t.load_dialect_impl(dialect)  # type: ignore[attr-defined]
            except Exception as exc:
                raise GitmigError(
                    f"type {type(t).__name__}: its load_dialect_impl failed for "
                    f"{dialect.name}: {type(exc).__name__}: {exc}"
                ) from None
            t = _public(sa.types.to_instance(impl), dialect)
        else:
            break
    if t._variant_mapping:
        t = t.copy()
        t._variant_mapping = sa.util.immutabledict()
    item = getattr(t, "item_type", None)
    if isinstance(item, TypeEngine) and depends_on_dialect(item):  # ARRAY(GUID())
        t = t.copy()
        t.item_type = stored_type(item, dialect)  # type: ignore[attr-defined]
    if dialect.name in DIALECT_NAMES:
        t = typehooks.unhooked(t, dialect)
    return t


def _key(t: TypeEngine[Any]) -> tuple[type, str]:
    return type(t), repr(t)


def _stored_as(t: TypeEngine[Any], dialect: Dialect) -> tuple[type, str, str]:
    """The dialect's class for `t` and the DDL it writes: psycopg's one string class
    stands for both String and Text, so the class alone cannot tell VARCHAR from TEXT."""
    return (*_key(dialect.type_descriptor(t)), str(t.compile(dialect=dialect)))


def _public(t: TypeEngine[Any], dialect: Dialect) -> TypeEngine[Any]:
    """The most generic public type that is `t` on this dialect.

    load_dialect_impl often returns `dialect.type_descriptor(UUID())`, a dialect's own,
    sometimes private, class (PGUuid, sqlite's DATETIME); the type written is the least
    specific public class that the dialect turns into exactly the same thing.
    """
    try:
        target = _stored_as(t, dialect)
    except Exception:
        return t
    for cls in reversed(type(t).__mro__):
        if not (isinstance(cls, type) and issubclass(cls, TypeEngine) and _is_public(cls)):
            continue
        try:
            candidate = t if cls is type(t) else t.adapt(cls)
            if _stored_as(candidate, dialect) == target:
                return candidate
        except Exception:
            continue
    return t


# -- source text ---------------------------------------------------------------------------


def type_source(t: TypeEngine[Any] | type[TypeEngine[Any]]) -> str:
    if isinstance(t, type):
        t = t()
    if not depends_on_dialect(t):
        return plain_source(t)
    texts = {name: plain_source(stored_type(t, d)) for name, d in dialects().items()}
    default: str | None
    try:
        default = plain_source(stored_type(t, _default_dialect()))
    except Exception:  # a decorator that knows only real databases
        default = None
    counts = Counter(texts.values())

    def rank(text: str) -> tuple[int, bool, int]:
        first = min(DIALECT_NAMES.index(n) for n, x in texts.items() if x == text)
        return counts[text], text == default, -first

    base = max(counts, key=rank)
    groups: dict[str, list[str]] = {}
    for name in DIALECT_NAMES:
        if texts[name] != base:
            groups.setdefault(texts[name], []).append(name)
    variants = "".join(
        f".with_variant({text}, {', '.join(literal(n) for n in sorted(names))})"
        for text, names in sorted(groups.items(), key=lambda kv: sorted(kv[1]))
    )
    return base + variants


def plain_source(t: TypeEngine[Any]) -> str:
    """One type (no variants, no decorator) as the call that rebuilds it."""
    prefix = _prefix_for(type(t))
    text = _double_quoted(_repr(t))
    if text.count("(") > 1:
        text = _prefix_nested(text, t)
    return f"{prefix}.{text}"


def _repr(t: TypeEngine[Any]) -> str:
    if type(t) is sa.Interval:
        # Interval's repr forgets its arguments, which decide PostgreSQL's INTERVAL(p).
        args = []
        if not t.native:
            args.append("native=False")
        for name in ("second_precision", "day_precision"):
            value = getattr(t, name)
            if value is not None:
                args.append(f"{name}={value!r}")
        return f"Interval({', '.join(args)})"
    return repr(t)


def _double_quoted(text: str) -> str:
    """Strings in a type's repr written as everywhere else in a migration file."""
    if "'" not in text and '"' not in text:
        return text  # no string token to rewrite (tokenizing is most of a column's cost)
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, SyntaxError):
        return text
    if any(tok.start[0] != 1 or tok.end[0] != 1 for tok in tokens if tok.string):
        return text
    for tok in reversed(tokens):
        if tok.type == tokenize.STRING:
            value = ast.literal_eval(tok.string)
            if isinstance(value, str):
                text = text[: tok.start[1]] + literal(value) + text[tok.end[1] :]
    return text


def _prefix_nested(text: str, t: TypeEngine[Any]) -> str:
    """Qualify type names nested in a repr: ARRAY(ENUM(...)) -> ARRAY(postgresql.ENUM(...))."""
    nested = {
        type(v).__name__: _prefix_for(type(v))
        for v in vars(t).values()
        if isinstance(v, TypeEngine)
    }
    tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    inserts = []
    for i, tok in enumerate(tokens[1:-1], start=1):
        if (
            tok.type == tokenize.NAME
            and tokens[i + 1].string == "("
            and tokens[i - 1].string != "."
            and (tok.string in nested or tok.string in _SA_TYPE_NAMES)
        ):
            inserts.append((tok.start[1], nested.get(tok.string, "sa")))
    for col, prefix in reversed(inserts):
        text = text[:col] + prefix + "." + text[col:]
    return text
