"""The text of a squashed migration, and the edits squashing makes to other files.

Pure: source text in, source text out. A squashed migration is an ordinary migration
file with `replaces = [...]` under its parents; the data migrations it keeps are copied
with the functions (and the imports) of the files they come from, renamed where two files
used one name.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from gitmig.errors import GitmigError
from gitmig.migrations import writer
from gitmig.migrations.loader import assignment
from gitmig.ops import Operation, RunPython, _function_source
from gitmig.schema.serializer import ListOf


@dataclass
class CopiedCode:
    """Functions and imports the kept RunPython operations need, in file order."""

    imports: list[str] = field(default_factory=list)
    functions: list[str] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    def copy(self, op: RunPython, source: str, path: str, origin: str) -> RunPython:
        """`op` as the squashed file writes it, its functions copied from `source`."""
        tree = ast.parse(source)
        defs = {n.name: n for n in tree.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                text = ast.get_source_segment(source, node) or ""
                if text and text not in self.imports and not _is_ops_import(node):
                    self.imports.append(text)

        def renamed(func: Callable[..., object] | None) -> Callable[..., object] | None:
            if func is None or _function_source(func).startswith("ops."):
                return func
            name = getattr(func, "__name__", "")
            node = defs.get(name)
            if node is None:
                raise GitmigError(
                    f"RunPython {name!r} is not a function defined at the top level of its "
                    "file, so squash cannot copy it; move it there, or squash around it",
                    path=path)
            new = name if name not in self.taken else f"{name}_{origin}"
            self.taken.add(new)
            text = ast.get_source_segment(source, node) or ""
            if node.decorator_list:
                first = min(d.lineno for d in node.decorator_list)
                text = "\n".join(source.splitlines()[first - 1:node.end_lineno])
            if new != name:
                text = text.replace(f"def {name}(", f"def {new}(", 1)
            self.functions.append(text)
            return _Named(new)

        forwards = renamed(op.code)
        assert forwards is not None
        return RunPython(forwards, renamed(op.reverse_code))


class _Named:
    """Stands for a copied function in the text: only its name is written."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args: object) -> None:  # pragma: no cover - never run
        raise AssertionError("a copied function is only written, never run")


def _is_ops_import(node: ast.Import | ast.ImportFrom) -> bool:
    return isinstance(node, ast.ImportFrom) and node.module == "gitmig" and any(
        a.name == "ops" for a in node.names)


def squashed_text(
    parents: Sequence[str],
    replaces: Sequence[str],
    operations: Sequence[Operation],
    headline: str,
    origin: str,
    code: CopiedCode,
) -> str:
    """The squashed migration's file: a migration, with `replaces` and copied code."""
    text = writer.migration_text(parents, operations, origin, headline=headline)
    head, sep, tail = text.partition("\nparents = ")
    extra = ""
    known = set(head.splitlines())
    imports = [i for i in code.imports if i not in known]
    if imports:
        extra += "\n".join(imports) + "\n"
    if code.functions:
        extra += "\n\n" + "\n\n\n".join(code.functions) + "\n\n"
    replaces_text = ListOf([f'"{r}"' for r in replaces]).render(0)
    parents_text, _, ops_text = tail.partition("\n")
    return f"{head}{extra}{sep}{parents_text}\nreplaces = {replaces_text}\n{ops_text}"


def with_parents(source: str, mapping: Mapping[str, str]) -> str | None:
    """`source` with each parent named in `mapping` renamed (duplicates dropped); None when
    nothing changes. Only the `parents = [...]` assignment is rewritten."""
    tree = ast.parse(source)
    for node in tree.body:
        target, value = assignment(node)
        if target != "parents" or not isinstance(value, ast.List | ast.Tuple):
            continue
        old = [e.value for e in value.elts
               if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        new = list(dict.fromkeys(mapping.get(p, p) for p in old))
        if new == old:
            return None
        parents = ListOf([f'"{p}"' for p in new]).render(0)
        return _replace_node(source, node, f"parents = {parents}")
    return None


def without_replaces(source: str) -> str:
    """`source` without its `replaces = [...]` assignment (squash --finish)."""
    tree = ast.parse(source)
    for node in tree.body:
        if assignment(node)[0] == "replaces":
            return _replace_node(source, node, None)
    return source


def _replace_node(source: str, node: ast.stmt, text: str | None) -> str:
    lines = source.splitlines(keepends=True)
    end = node.end_lineno or node.lineno
    new = [] if text is None else [text + "\n"]
    return "".join(lines[:node.lineno - 1] + new + lines[end:])
