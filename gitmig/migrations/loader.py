"""Migration files to graph nodes, read with Python's ast and never executed.

That is what lets gitmig inspect migrations of any branch or commit safely: a file's
parents and checksum come from its syntax tree. Only replaying operations imports a file
(gitmig.migrations.replay), and only from the working tree.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations import statecache
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph

FILE_RE = re.compile(r"^(\d{4,})_(\w+)\.py$")

CHECKSUM_FORMAT = "v2:"  # checksums without this prefix are format 1 (operations only)


def parse_parent(ref: str, app: str) -> tuple[str, str]:
    other, dot, name = ref.rpartition(".")
    return (other, name) if dot else (app, ref)


def parse_migration(app: str, name: str, source: str | bytes, path: str) -> MigrationFile:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise GitmigError(f"syntax error: {exc.msg}", path=path, line=exc.lineno) from None
    except ValueError as exc:  # null bytes
        raise GitmigError(f"cannot parse: {exc}", path=path) from None
    parents_node: ast.expr | None = None
    parents_line = 0
    operations_node: ast.expr | None = None
    replaces_node: ast.expr | None = None
    for node in tree.body:
        target, value = assignment(node)
        if target == "parents":
            parents_node, parents_line = value, node.lineno
        elif target == "operations":
            operations_node = value
        elif target == "replaces":
            replaces_node = value
    if parents_node is None:
        raise GitmigError(
            "no `parents = [...]` at the top level; the first migration of an app has parents = []",
            path=path,
        )
    parents = []
    if not isinstance(parents_node, (ast.List, ast.Tuple)):
        raise GitmigError("`parents` must be a list of migration names", path=path,
                          line=parents_line)
    for elt in parents_node.elts:
        if not (isinstance(elt, ast.Constant) and isinstance(elt.value, str) and elt.value):
            raise GitmigError("`parents` must hold only migration names as strings",
                              path=path, line=parents_line)
        parents.append(parse_parent(elt.value, app))
    if operations_node is None:
        raise GitmigError("no `operations = [...]` at the top level", path=path)
    return MigrationFile(
        app=app,
        name=name,
        parents=tuple(parents),
        path=path,
        parents_line=parents_line,
        checksum=checksum(tree),
        legacy_checksum=_legacy_checksum(tree, operations_node),
        replaces=_replaces(replaces_node, app, path),
    )


def _replaces(node: ast.expr | None, app: str, path: str) -> tuple[tuple[str, str], ...]:
    """A squashed migration's `replaces = ["0001_initial", ...]`: the migrations it stands
    for, names in its own app."""
    if node is None:
        return ()
    if not isinstance(node, (ast.List, ast.Tuple)) or not all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) and e.value for e in node.elts
    ):
        raise GitmigError("`replaces` must be a list of migration names as strings",
                          path=path, line=node.lineno)
    return tuple(parse_parent(e.value, app) for e in node.elts)  # type: ignore[attr-defined]


def assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
        return node.target.id, node.value
    return None, None


def checksum(tree: ast.Module) -> str:
    """Everything the module runs, so that any edit but renumbering and re-parenting
    (`gitmig resolve`) or rewording the docstring is one.

    The syntax tree is written out in a form of its own rather than with ast.dump, whose
    text changes between Python versions; layout and comments never count. The docstring
    and the `parents` and `replaces` assignments are left out, unless the module reads
    them by name (then they are part of what it runs): `squash --finish` takes `replaces`
    away from a migration databases have recorded.
    """
    seen: set[str] = set()
    texts = [_serialized(node, seen) for node in tree.body]
    keep = [True] * len(texts)
    if tree.body and _is_docstring(tree.body[0]) and "__doc__" not in seen:
        keep[0] = False
    for name in ("parents", "replaces"):
        if name not in seen:
            for i, node in enumerate(tree.body):
                if assignment(node)[0] == name:
                    keep[i] = False
    text = "[" + ",".join(t for t, k in zip(texts, keep, strict=True) if k) + "]"
    return CHECKSUM_FORMAT + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _is_docstring(node: ast.stmt) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


_WATCHED = frozenset({"parents", "replaces", "__doc__"})  # read by name: then they count
# Left out: u"" prefixes, `# type:` comments, and ctx (where a name stands says it).
_SKIPPED_FIELDS = frozenset({"kind", "type_comment", "ctx"})
_FIELDS: dict[type, tuple[str, ...]] = {}


def _serialized(root: ast.AST, seen: set[str]) -> str:
    """A node as text that only its meaning decides, noting reads of watched names (as a
    variable, an attribute or a string such as globals()["parents"]) in `seen`. Empty
    fields are left out so that a field a newer Python adds (type_params, say) changes
    nothing. Written for speed: a cold run parses every migration."""
    out: list[str] = []
    append = out.append
    fields_of = _FIELDS

    def write(node: Any) -> None:
        cls = node.__class__
        if cls is list:
            append("[")
            for i, item in enumerate(node):
                if i:
                    append(",")
                write(item)
            append("]")
            return
        fields = fields_of.get(cls)
        if fields is None:
            if not isinstance(node, ast.AST):
                append(f"{cls.__name__}:{node!r}")
                return
            fields = fields_of[cls] = tuple(f for f in cls._fields if f not in _SKIPPED_FIELDS)
        if cls is ast.Name:
            if node.id in _WATCHED and node.ctx.__class__ is not ast.Store:
                seen.add(node.id)
        elif cls is ast.Attribute:
            if node.attr in _WATCHED:
                seen.add(node.attr)
        elif cls is ast.Constant and node.value.__class__ is str and node.value in _WATCHED:
            seen.add(node.value)
        append("(")
        append(cls.__name__)
        for name in fields:
            value = getattr(node, name, None)
            if value is None or value == []:
                continue
            append(" " + name + "=")
            write(value)
        append(")")

    write(root)
    return "".join(out)


def _legacy_checksum(tree: ast.Module, operations: ast.expr) -> str:
    """Format 1, kept to recognise what older versions of gitmig recorded: the operations
    and the module's functions and classes only."""
    parts = [ast.dump(operations, annotate_fields=False)]
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            parts.append(ast.dump(node, annotate_fields=False))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def is_legacy(recorded: str) -> bool:
    return not recorded.startswith(CHECKSUM_FORMAT)


class _Recorded(Protocol):
    """A history row (gitmig.db.history.rows.Applied, a layer above): a dataclass that
    holds the checksum recorded for a migration."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def checksum(self) -> str: ...


RowT = TypeVar("RowT", bound=_Recorded)


def upgrade_recorded(
    graph: MigrationGraph, applied: Mapping[Key, RowT]
) -> tuple[dict[Key, RowT], list[Key]]:
    """History rows recorded by an older gitmig (format 1 checksums) with the checksum of
    today's format, where the file's format 1 checksum is still the one recorded: the
    file is unchanged. A row whose file changed keeps its old checksum, which no file
    matches, so it reads as edited. Also matched: a file `gitmig resolve` renumbered
    (same app, same name after the number, same format 1 checksum)."""
    out: dict[Key, RowT] = {}
    upgraded: list[Key] = []
    by_slug: dict[tuple[str, str, str], list[MigrationFile]] = {}
    for node in graph.nodes.values():
        slug = node.name.partition("_")[2]
        by_slug.setdefault((node.app, slug, node.legacy_checksum), []).append(node)
    for key, row in applied.items():
        if is_legacy(row.checksum):
            f = graph.nodes.get(key)
            if f is None:
                same = by_slug.get((key[0], key[1].partition("_")[2], row.checksum), [])
                f = same[0] if len(same) == 1 else None
            if f is not None and f.legacy_checksum == row.checksum:
                row = replace(row, checksum=f.checksum)
                upgraded.append(key)
        out[key] = row
    return out, upgraded


def migration_files(folder: Path) -> Iterable[tuple[str, Path]]:
    """(name, path) of each NNNN_name.py in a migrations folder, in name order."""
    return [(name, Path(path)) for name, path in _migration_paths(folder)]


def _migration_paths(folder: Path) -> list[tuple[str, str]]:
    """(name, path as text) of each migration file, in name order: plain strings, as a
    thousand Path objects cost more than reading the files."""
    try:
        entries = list(os.scandir(folder))  # scandir: no stat per file
    except (FileNotFoundError, NotADirectoryError):
        return []
    found = []
    for entry in entries:
        if FILE_RE.match(entry.name) and entry.is_file():
            found.append((entry.name[:-3], entry.path))
    return sorted(found)


def read_folder(app: str, folder: Path) -> list[MigrationFile]:
    """Each file is parsed once per content: later reads come from the state cache."""
    scope = f"{app}\0{folder}"
    known: dict[tuple[str, str], MigrationFile] = (
        (_READ.get(scope) if statecache.enabled() else None)
        or statecache.load("parsed", scope) or {})
    seen: dict[tuple[str, str], MigrationFile] = {}
    out = []
    for name, path in _migration_paths(folder):
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as exc:
            raise GitmigError(f"cannot read migration: {exc.strerror}", path=path) from None
        key = (name, statecache.digest(source))
        parsed = known.get(key)
        if parsed is None or parsed.path != path:
            parsed = replace(parse_migration(app, name, source, path), digest=key[1])
        seen[key] = parsed
        out.append(parsed)
    if seen.keys() != known.keys():
        statecache.store("parsed", scope, seen)
    _READ[scope] = seen
    return out


# What read_folder parsed in this process, by scope: a second read of the folder (a
# shortcut that asked first, then the full command) takes its entries from here rather
# than unpickling them again; they are keyed by content all the same.
_READ: dict[str, dict[tuple[str, str], MigrationFile]] = {}


BLOBS_KEEP = 4  # sets of files (the index, HEAD, a branch...) kept per app and folder


def read_blobs(app: str, scope: str, blobs: list[tuple[str, bytes, str]],
               shared: str | None = None) -> list[MigrationFile]:
    """Files that are not on disk (git's index, a commit), as (name, bytes, shown path),
    parsed once per content like read_folder's: a file's parse depends on its app, name
    and bytes only (the path is where it is shown), so an entry is keyed by those and
    its path replaced. `shared` is read_folder's scope for the same folder of the
    working tree, whose entries serve a blob with the same bytes."""
    known = statecache.load("parsed-blobs", scope)
    known = known if isinstance(known, dict) else {}
    tree = statecache.load("parsed", shared) if shared is not None else None
    tree = tree if isinstance(tree, dict) else {}
    seen: dict[tuple[str, str], MigrationFile] = {}
    out = []
    for name, source, path in blobs:
        key = (name, statecache.digest(source))
        parsed = known.get(key) or tree.get(key)
        if not (isinstance(parsed, MigrationFile) and parsed.app == app
                and parsed.name == name):
            parsed = parse_migration(app, name, source, path)
        parsed = replace(parsed, path=path, digest="")
        seen[key] = parsed
        out.append(parsed)
    if not seen.keys() <= known.keys():
        kept = {**known, **seen}
        if len(kept) > BLOBS_KEEP * max(len(seen), 1):
            kept = seen
        statecache.store("parsed-blobs", scope, kept)
    return out


def load_graph(config: Config, folders: dict[str, Path] | None = None) -> MigrationGraph:
    """The graph of every configured app's migrations as they are on disk."""
    files: list[MigrationFile] = []
    for app in config.apps.values():
        folder = (folders or {}).get(app.label, app.migrations)
        files += read_folder(app.label, folder)
    return MigrationGraph(files, list(config.apps))
