"""The migrations as resolve sees them, conflicted or not: one Entry per file, with a file
both branches added under one name held twice (the other branch's, and NAME~ours)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph
from gitmig.migrations.loader import parse_migration, read_folder
from gitmig.resolve.index import Conflicts

OURS_SUFFIX = "~ours"  # the key of this branch's version of a file both sides added


@dataclass
class Entry:
    """One migration file as resolve will leave it."""

    app: str
    key: str  # its name now (this branch's copy of a file both sides added: NAME~ours)
    text: bytes
    path: Path  # where it is now
    parents: list[Key]
    checksum: str
    new_name: str = ""
    from_index: bool = False  # its text comes from git's index (an add/add conflict)
    created: bool = False  # a new file (a merge migration)
    replaces: tuple[Key, ...] = ()  # a squashed migration's originals
    in_file: tuple[Key, ...] = field(default=(), init=False)  # the parents its text names

    def __post_init__(self) -> None:
        self.in_file = tuple(self.parents)

    @property
    def name(self) -> str:
        return self.key.removesuffix(OURS_SUFFIX)

    @property
    def final(self) -> str:
        return self.new_name or self.name


def entries_of(
    config: Config, selected: list[str], conflicts: Conflicts, folders: dict[str, str]
) -> dict[str, dict[str, Entry]]:
    """Every app's migrations (key -> entry); for a file both sides added, the other
    branch's version under its name and this branch's as NAME~ours."""
    out: dict[str, dict[str, Entry]] = {}
    for app, app_config in config.apps.items():
        folder = app_config.migrations
        both = {path.rpartition("/")[2][:-3]: (mine, other)
                for path, (a, mine, other) in conflicts.added_both.items() if a == app}
        entries: dict[str, Entry] = {}
        for f in read_folder(app, folder) if not both else []:
            entries[f.name] = Entry(app, f.name, _read_bytes(Path(f.path)), Path(f.path),
                                    list(f.parents), f.checksum, replaces=f.replaces)
        if both:
            for file_name, path in _listing(folder):
                if file_name not in both:
                    entries[file_name] = _entry(app, file_name, _read_bytes(path), path, False)
            for file_name, (mine, other) in both.items():
                path = folder / f"{file_name}.py"
                entries[file_name] = _entry(app, file_name, other, path, True)
                ours_key = file_name + OURS_SUFFIX
                entries[ours_key] = replace(_entry(app, file_name, mine, path, True),
                                            key=ours_key)
        out[app] = dict(sorted(entries.items()))
    return out


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GitmigError(f"cannot read migration: {exc.strerror}", path=str(path)) from None


def _listing(folder: Path) -> list[tuple[str, Path]]:
    from gitmig.migrations.loader import migration_files

    return list(migration_files(folder))


def _entry(app: str, name: str, text: bytes, path: Path, from_index: bool) -> Entry:
    f = parse_migration(app, name, text, str(path))
    return Entry(app, name, text, path, list(f.parents), f.checksum, from_index=from_index,
                 replaces=f.replaces)


def _files(entries: dict[str, dict[str, Entry]]) -> list[MigrationFile]:
    out = []
    for app_entries in entries.values():
        for e in app_entries.values():
            out.append(MigrationFile(e.app, e.key, tuple(e.parents), str(e.path), 0, e.checksum,
                                     replaces=e.replaces))
    return out


def graph_of(config: Config, entries: dict[str, dict[str, Entry]]) -> MigrationGraph:
    return MigrationGraph(_files(entries), list(config.apps))
