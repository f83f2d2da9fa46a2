"""State values to Python source, laid out the same way every time.

Rendering is a pure function of its input, which is what makes written migration files
byte-identical for the same change.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from gitmig.schema.state import (
    Check,
    Column,
    ForeignKey,
    Identity,
    Index,
    ServerDefault,
    Table,
    Unique,
)
from gitmig.schema.state import (
    Sequence as Sequence_,
)

WIDTH = 99

Arg = Union[str, "Call", "ListOf"]


def literal(value: Any) -> str:
    """A Python literal; strings double-quoted where that needs no escaping."""
    if isinstance(value, str):
        if '"' not in value and "\\" not in value and value.isprintable():
            return f'"{value}"'
        return repr(value)
    if isinstance(value, (tuple, list)):
        inner = ", ".join(literal(v) for v in value)
        return f"[{inner}]"
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, (dict,)):
        items = ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items())
        return "{" + items + "}"
    raise TypeError(f"cannot write {value!r} into a migration")


@dataclass
class Call:
    func: str
    args: list[Arg] = field(default_factory=list)
    kwargs: list[tuple[str, Arg]] = field(default_factory=list)

    def parts(self) -> list[tuple[str, Arg]]:
        return [("", a) for a in self.args] + list(self.kwargs)

    def render(self, indent: int = 0) -> str:
        flat = self.flat()
        if indent + len(flat) <= WIDTH:
            return flat
        pad = " " * (indent + 4)
        lines = [f"{self.func}("]
        for key, value in self.parts():
            prefix = f"{key}=" if key else ""
            lines.append(f"{pad}{prefix}{render(value, indent + 4 + len(prefix))},")
        lines.append(" " * indent + ")")
        return "\n".join(lines)

    def flat(self) -> str:
        inner = ", ".join((f"{k}=" if k else "") + flat(v) for k, v in self.parts())
        return f"{self.func}({inner})"


@dataclass
class ListOf:
    items: list[Arg]

    def flat(self) -> str:
        return "[" + ", ".join(flat(i) for i in self.items) + "]"

    def render(self, indent: int = 0) -> str:
        text = self.flat()
        if indent + len(text) <= WIDTH or not self.items:
            return text
        pad = " " * (indent + 4)
        body = "".join(f"{pad}{render(i, indent + 4)},\n" for i in self.items)
        return "[\n" + body + " " * indent + "]"


def flat(value: Arg) -> str:
    return value if isinstance(value, str) else value.flat()


def render(value: Arg, indent: int = 0) -> str:
    return value if isinstance(value, str) else value.render(indent)


def expression(text: str) -> Arg:
    """Source text of a call (a type) as a Call, so a long one wraps like any other."""
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return text
    return _from_node(node)


def _from_node(node: ast.expr) -> Arg:
    if isinstance(node, ast.Call) and all(k.arg for k in node.keywords) and not any(
        isinstance(a, ast.Starred) for a in node.args
    ):
        return Call(
            _callee(node.func),
            [_from_node(a) for a in node.args],
            [(str(k.arg), _from_node(k.value)) for k in node.keywords],
        )
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return literal(node.value)
    if isinstance(node, ast.List):
        return ListOf([_from_node(e) for e in node.elts])
    return ast.unparse(node)


def _callee(node: ast.expr) -> str:
    """`sa.JSON().with_variant`: the call before the dot written like any other call."""
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call):
        return f"{flat(_from_node(node.value))}.{node.attr}"
    return ast.unparse(node)


def names(values: Sequence[str]) -> str:
    return literal(list(values))


def server_default(sd: ServerDefault | None) -> str:
    if sd is None:
        return "None"
    if sd.kind == "expr":
        return sd.text  # a portable expression such as sa.func.now(), kept as source
    if sd.kind == "sql":
        return f"sa.text({literal(sd.text)})"
    return literal(sd.text)


def _options(call: Call, options: tuple[tuple[str, Any], ...]) -> Call:
    call.kwargs += [(k, literal(v)) for k, v in options]
    return call


def identity(i: Identity | None) -> Arg:
    if i is None:
        return "None"
    return _options(Call("sa.Identity", [], [("always", "True")] if i.always else []), i.options)


def sequence(s: Sequence_ | None) -> Arg:
    if s is None:
        return "None"
    call = Call("sa.Sequence", [literal(s.name)])
    if s.schema:
        call.kwargs.append(("schema", literal(s.schema)))
    return _options(call, s.options)


def generated(c: Column) -> list[Arg]:
    """The Identity, Computed and Sequence of a column, as sa.Column's positional items."""
    items: list[Arg] = []
    if c.sequence is not None:
        items.append(sequence(c.sequence))
    if c.identity is not None:
        items.append(identity(c.identity))
    if c.computed is not None:
        comp = Call("sa.Computed", [literal(c.computed.sqltext)])
        if c.computed.persisted is not None:
            comp.kwargs.append(("persisted", repr(c.computed.persisted)))
        items.append(comp)
    return items


def column(
    c: Column, foreign_keys: Sequence[ForeignKey] = (), checks: Sequence[Check] = ()
) -> Call:
    call = Call("sa.Column", [literal(c.name), expression(c.type), *generated(c)])
    for fk in foreign_keys:
        call.args.append(inline_foreign_key(fk))
    for ck in _sorted(checks):
        call.args.append(check(ck))
    if c.primary_key:
        call.kwargs.append(("primary_key", "True"))
    if c.autoincrement != "auto":
        call.kwargs.append(("autoincrement", repr(c.autoincrement)))
    call.kwargs.append(("nullable", repr(c.nullable)))
    if c.server_default is not None:
        call.kwargs.append(("server_default", server_default(c.server_default)))
    if c.comment is not None:
        call.kwargs.append(("comment", literal(c.comment)))
    return call


def _fk_actions(call: Call, fk: ForeignKey) -> Call:
    if fk.name:
        call.kwargs.append(("name", literal(fk.name)))
    if fk.ondelete:
        call.kwargs.append(("ondelete", literal(fk.ondelete)))
    if fk.onupdate:
        call.kwargs.append(("onupdate", literal(fk.onupdate)))
    if fk.deferrable is not None:
        call.kwargs.append(("deferrable", repr(fk.deferrable)))
    if fk.initially:
        call.kwargs.append(("initially", literal(fk.initially)))
    if fk.match:
        call.kwargs.append(("match", literal(fk.match)))
    return call


def inline_foreign_key(fk: ForeignKey) -> Call:
    target = f"{fk.ref_table}.{fk.ref_columns[0]}"
    return _fk_actions(Call("sa.ForeignKey", [literal(target)]), fk)


def foreign_key(fk: ForeignKey) -> Call:
    targets = [f"{fk.ref_table}.{c}" for c in fk.ref_columns]
    return _fk_actions(Call("sa.ForeignKeyConstraint", [names(fk.columns), names(targets)]), fk)


def unique(u: Unique) -> Call:
    call = Call("sa.UniqueConstraint", [literal(c) for c in u.columns])
    if u.name:
        call.kwargs.append(("name", literal(u.name)))
    return options(call, u.options)


def check(c: Check) -> Call:
    call = Call("sa.CheckConstraint", [literal(c.sqltext)])
    if c.name:
        call.kwargs.append(("name", literal(c.name)))
    return call


def constraint(c: ForeignKey | Unique | Check) -> Call:
    if isinstance(c, ForeignKey):
        return foreign_key(c)
    if isinstance(c, Unique):
        return unique(c)
    return check(c)


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")


def index_element(column: str) -> str:
    """A column name as a string, an expression (lower(name)) as sa.text."""
    return literal(column) if _IDENTIFIER.match(column) else f"sa.text({literal(column)})"


def index_columns(columns: Sequence[str]) -> Arg:
    if all(_IDENTIFIER.match(c) for c in columns):
        return names(columns)
    return ListOf([index_element(c) for c in columns])


def options(call: Call, pairs: Sequence[tuple[str, str]]) -> Call:
    """Dialect keywords, written as their canonical source."""
    for key, source in pairs:
        call.kwargs.append((key, expression(source) if source.startswith("sa.") else source))
    return call


def index_options(call: Call, ix: Index) -> Call:
    return options(call, ix.options)


def index(ix: Index) -> Call:
    call = Call("sa.Index", [literal(ix.name), *(index_element(c) for c in ix.columns)])
    if ix.unique:
        call.kwargs.append(("unique", "True"))
    return index_options(call, ix)


def _sorted(items: Any) -> list[Any]:
    return sorted(items, key=repr)


def table_items(t: Table, with_indexes: bool = True) -> list[Arg]:
    """The positional arguments of a CreateTable: columns, then constraints, then indexes."""
    items: list[Arg] = [
        column(c, checks=[ck for ck in t.checks if ck.column == c.name]) for c in t.columns
    ]
    if t.pk_name:
        items.append(
            Call(
                "sa.PrimaryKeyConstraint",
                [literal(c) for c in t.primary_key],
                [("name", literal(t.pk_name))],
            )
        )
    items += [foreign_key(fk) for fk in _sorted(t.foreign_keys)]
    items += [unique(u) for u in _sorted(t.uniques)]
    items += [check(c) for c in _sorted(t.checks) if c.column is None]
    if with_indexes:
        items += [index(ix) for ix in _sorted(t.indexes)]
    return items
