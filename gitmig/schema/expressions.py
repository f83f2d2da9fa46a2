"""SQL expressions of server defaults as the SQLAlchemy source that rebuilds them.

A default such as `sa.cast("5", sa.Integer)` or `sa.func.timezone("utc", sa.func.now())`
is spelled differently by each database (`SIGNED INTEGER` on MySQL, `CURRENT_TIMESTAMP`
on SQLite). Written as SQL text it would be right on one database only; written as the
expression, each database spells it as `create_all` would. Only plain pieces are
understood (functions, literals, casts, arithmetic, text); anything else stays SQL text.
"""

from __future__ import annotations

import operator
from typing import Any

from sqlalchemy.sql import functions
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    Cast,
    ClauseElement,
    ColumnClause,
    False_,
    Grouping,
    Null,
    TextClause,
    True_,
)

from gitmig.schema.serializer import literal
from gitmig.schema.typesource import dialects, type_source

_OPERATORS = {operator.add: "+", operator.sub: "-", operator.mul: "*", operator.truediv: "/"}


def compiled(e: ClauseElement, dialect: Any = None) -> str:
    return str(e.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def spelled_alike(e: ClauseElement) -> bool:
    """True when every supported database writes `e` as SQLAlchemy's default text does."""
    try:
        text = compiled(e)
        return all(compiled(e, d) == text for d in dialects().values())
    except Exception:
        return True  # cannot tell: keep the text, as before


def source(e: Any) -> str | None:
    """The expression as source text, or None when it holds something not understood."""
    if isinstance(e, True_):
        return "sa.true()"
    if isinstance(e, False_):
        return "sa.false()"
    if isinstance(e, Null):
        return "sa.null()"
    if isinstance(e, Grouping):
        return source(e.element)
    if isinstance(e, functions.FunctionElement):
        name = getattr(e, "name", None)
        if not isinstance(name, str) or not name.isidentifier() or getattr(e, "packagenames", None):
            return None
        args = [source(c) for c in e.clauses]
        if any(a is None for a in args):
            return None
        return f"sa.func.{name}({', '.join(str(a) for a in args)})"
    if isinstance(e, BindParameter):
        value = e.effective_value
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return literal(value)
        return None
    if isinstance(e, Cast):
        inner = source(e.clause)
        return None if inner is None else f"sa.cast({inner}, {type_source(e.type)})"
    if isinstance(e, TextClause):
        return f"sa.text({literal(e.text)})"
    if isinstance(e, ColumnClause) and e.is_literal:
        return f"sa.literal_column({literal(e.name)})"
    if isinstance(e, BinaryExpression) and e.operator in _OPERATORS:
        left, right = source(e.left), source(e.right)
        if left is None or right is None:
            return None
        return f"({left} {_OPERATORS[e.operator]} {right})"
    return None
