"""How a column's type change treats the values already stored: kept, narrowed, or
converted. The rules ask this instead of comparing type names themselves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from gitmig.schema import materialize

_INTEGER_RANK = {sa.SmallInteger: 1, sa.Integer: 2, sa.BigInteger: 3}


@dataclass(frozen=True)
class Change:
    old: Any
    new: Any

    @property
    def both_strings(self) -> bool:
        return isinstance(self.old, sa.String) and isinstance(self.new, sa.String) and not (
            isinstance(self.old, sa.Enum) or isinstance(self.new, sa.Enum))

    def widens_string(self) -> bool:
        """VARCHAR(n) to VARCHAR(m >= n), to VARCHAR or TEXT: every value still fits."""
        if not self.both_strings:
            return False
        old, new = self.old.length, self.new.length
        return new is None or (old is not None and new >= old)

    def widens_numeric(self) -> bool:
        """NUMERIC(p, s) to NUMERIC(q >= p, s): more digits, same scale."""
        o, n = self.old, self.new
        if not (type(o) is type(n) and isinstance(o, sa.Numeric)
                and not isinstance(o, sa.Float)):
            return False
        return o.scale == n.scale and (n.precision is None or (
            o.precision is not None and n.precision >= o.precision))

    def narrows(self) -> str | None:
        """Why stored values may not survive, or None when they all do."""
        o, n = self.old, self.new
        if self.both_strings:
            if not self.widens_string():
                return f"values longer than {n.length} characters no longer fit"
            return None
        ro, rn = _rank(o), _rank(n)
        if ro and rn:
            return None if rn >= ro else f"{_name(o)} values beyond {_name(n)}'s range fail"
        if isinstance(o, sa.Numeric) and isinstance(n, sa.Numeric):
            if type(o) is type(n) and self.widens_numeric():
                return None
            if isinstance(o, sa.Float) and isinstance(n, sa.Float):
                return None
            return "digits may be lost or values rounded"
        if type(o) is type(n):
            return None
        if isinstance(n, (sa.Text, sa.String)) and not isinstance(n, sa.Enum) and (
                n.length is None):
            return None  # anything reads back as text
        return f"{_name(o)} values must convert to {_name(n)}; those that cannot fail"


def _rank(t: Any) -> int:
    for cls in type(t).__mro__:
        if cls in _INTEGER_RANK:
            return _INTEGER_RANK[cls]
    return 0


def _name(t: Any) -> str:
    return type(t).__name__


def change(old_source: str, new_source: str, database: str) -> Change:
    """The old and new type as `database` stores them (its variant, if any)."""
    return Change(_for(materialize.type_of(old_source), database),
                  _for(materialize.type_of(new_source), database))


def _for(t: Any, database: str) -> Any:
    variants = getattr(t, "_variant_mapping", None) or {}
    return variants.get(database, variants.get("mariadb") if database == "mysql" else None) or t


def type_of(source: str, database: str) -> Any:
    return _for(materialize.type_of(source), database)
