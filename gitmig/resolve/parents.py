"""Rewriting `parents`: as this branch meant them, after renames, and in the file's text
(only the assignment changes, so the checksum does not)."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key
from gitmig.migrations.loader import assignment, parse_migration
from gitmig.resolve.context import Context, names_in
from gitmig.resolve.entries import OURS_SUFFIX, Entry

if TYPE_CHECKING:
    import pygit2

    from gitmig.git.snapshot import GitProject


def repair_parents(
    project: GitProject | None,
    context: Context,
    entries: dict[str, dict[str, Entry]],
    folders: dict[str, str],
) -> set[str]:
    """Parents as this branch meant them; returns the apps of the migrations whose parents
    had been renumbered. A parent that both sides added under one name
    means this branch's copy when this branch's file names it. A parent that no longer
    exists was renumbered by an earlier resolve (a rebase replays one commit at a time:
    the next commit still names the old file); it is found again by its checksum in the
    commit being replayed."""
    theirs_names = {app: (names_in(context.theirs.tree, folder)
                          if context.theirs is not None else set())
                    for app, folder in folders.items()}
    ours_tree = context.ours.tree if context.ours is not None else None
    repaired: set[str] = set()
    for app, app_entries in entries.items():
        for e in app_entries.values():
            mine = e.key.endswith(OURS_SUFFIX) or e.key not in theirs_names[app]
            fixed = []
            for parent in e.parents:
                p_app, p_name = parent
                there = entries.get(p_app, {})
                if mine and p_name + OURS_SUFFIX in there:
                    fixed.append((p_app, p_name + OURS_SUFFIX))
                elif p_name in there or ours_tree is None:
                    fixed.append(parent)
                else:
                    found = _renamed(ours_tree, folders.get(p_app, ""), parent, there)
                    if found != parent:
                        repaired.add(app)
                    fixed.append(found)
            e.parents = fixed
    return repaired


def _renamed(tree: pygit2.Tree, folder: str, parent: Key, there: dict[str, Entry]) -> Key:
    import pygit2

    app, name = parent
    path = f"{folder}/{name}.py" if folder else f"{name}.py"
    try:
        blob = tree[path]
    except KeyError:
        return parent
    if not isinstance(blob, pygit2.Blob):
        return parent
    try:
        checksum = parse_migration(app, name, blob.data, path).checksum
    except GitmigError:
        return parent
    slug = name.partition("_")[2]
    found = [e.key for e in there.values()
             if e.checksum == checksum and e.name.partition("_")[2] == slug]
    return (app, found[0]) if len(found) == 1 else parent


def apply_renames(entries: dict[str, dict[str, Entry]]) -> None:
    """Point every parent at its migration's new name, in every app."""
    renamed = {(e.app, e.key): (e.app, e.final) for app_entries in entries.values()
               for e in app_entries.values() if e.new_name or e.key.endswith(OURS_SUFFIX)}
    for app_entries in entries.values():
        for e in app_entries.values():
            e.parents = [renamed.get(p, p) for p in e.parents]


def text_of(e: Entry) -> bytes:
    """The entry's file as it will be: its `parents` assignment rewritten if they changed."""
    if tuple(e.parents) == e.in_file:
        return e.text
    return with_parents(e.text, [n if a == e.app else f"{a}.{n}" for a, n in e.parents])


def with_parents(source: bytes, parents: Sequence[str]) -> bytes:
    """`source` with the value of its top-level `parents = [...]` replaced; nothing else in
    the file changes (so neither does its checksum)."""
    from gitmig.schema.serializer import ListOf

    tree = ast.parse(source)
    value: ast.expr | None = None
    for node in tree.body:
        target, assigned = assignment(node)
        if target == "parents":
            value = assigned
    assert value is not None and value.end_lineno is not None
    assert value.end_col_offset is not None
    lines = source.splitlines(keepends=True)
    start = sum(len(line) for line in lines[: value.lineno - 1]) + value.col_offset
    end = sum(len(line) for line in lines[: value.end_lineno - 1]) + value.end_col_offset
    rendered = ListOf([f'"{p}"' for p in parents]).render(0)
    return source[:start] + rendered.encode() + source[end:]
