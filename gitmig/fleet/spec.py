"""`[tool.gitmig.fleets.NAME]` → the fleet's targets: database URLs, or tenant schemas.

Targets come from any of: `databases` (URLs, environment variables expanded), a
`databases_file` (one URL a line), a `query` run on the `directory` database; or, for a
schema per tenant, one `url` with `schemas` and/or a `query` giving schema names. A URL
is only ever shown with its password hidden (Target.label).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gitmig import hints
from gitmig.config import Config, sqlite_relative_to
from gitmig.errors import GitmigError

KEYS = ("databases", "databases_file", "query", "directory", "url", "schemas")
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\$))")


@dataclass(frozen=True)
class Target:
    """One database, or one schema in a database, that the fleet migrates."""

    url: str  # may hold a password: print label, never this
    schema: str | None = None
    written: str | None = None  # a SQLite URL as written, relative to the project

    @property
    def key(self) -> str:
        """Its identity on any machine: no password, no checkout folder (shards)."""
        from gitmig.db.connection import display_url

        shown = display_url(self.written or self.url)
        return f"{shown}#{self.schema}" if self.schema is not None else shown

    @property
    def label(self) -> str:
        from gitmig.db.connection import display_url

        shown = display_url(self.url)
        return f"{shown}#{self.schema}" if self.schema is not None else shown

    @property
    def dialect(self) -> str:
        """The database family (sqlite, postgresql, mysql), read from the URL alone."""
        from gitmig.db.backends import family
        from gitmig.db.connection import parse_url

        return family(parse_url(self.url).get_backend_name())


def fleet_names(config: Config) -> list[str]:
    return sorted(config.fleets)


def targets(config: Config, name: str) -> list[Target]:
    """Every target of the fleet, in the order written (the query's order), each once."""
    section = config.fleets.get(name)
    where = f"[tool.gitmig.fleets.{name}] in {config.path}"
    if section is None:
        known = ", ".join(fleet_names(config)) or "none"
        raise GitmigError(f"unknown fleet {name!r} (configured fleets: {known})",
                          hint=hints.FLEET_CONFIG)
    unknown = sorted(set(section) - set(KEYS))
    if unknown:
        raise GitmigError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(KEYS)})")
    found: list[Target] = []
    for i, written in enumerate(_strings(section, "databases", where)):
        found.append(_target(expand(written, f"{where}: databases[{i}]"), config))
    if "databases_file" in section:
        found += _file_targets(config, section["databases_file"], where)
    url = section.get("url")
    if url is not None:
        if not isinstance(url, str):
            raise GitmigError(f"{where}: url must be a database URL string")
        base = _target(expand(url, f"{where}: url"), config)
        schemas = _strings(section, "schemas", where)
        if "query" in section:
            schemas += _query(config, section, where, default=url)
        if not schemas:
            raise GitmigError(f"{where}: url names the database of tenant schemas; list them "
                              "with schemas = [...] or give a query that returns their names")
        found += [Target(base.url, s, base.written) for s in schemas]
    elif "schemas" in section:
        raise GitmigError(f"{where}: schemas needs url = \"...\", the database that holds them")
    elif "query" in section:
        found += [_target(u, config) for u in _query(config, section, where, default=None)]
    if not found:
        if not (set(section) & set(KEYS)):
            raise GitmigError(f"{where} names no databases", hint=hints.FLEET_CONFIG)
        raise GitmigError(f"fleet {name!r} has no targets: {where} gives none",
                          hint=hints.FLEET_CONFIG)
    return list(dict.fromkeys(found))


def expand(text: str, where: str) -> str:
    """$VAR and ${VAR} from the environment ($$ is a $); an unset variable is an error, so
    a password left out never becomes an empty one."""

    def value(match: re.Match[str]) -> str:
        if match[3]:
            return "$"
        var = match[1] or match[2]
        if var not in os.environ:
            raise GitmigError(f"{where} uses ${var}, which is not set in the environment",
                              hint=f"export {var}=... before running gitmig")
        return os.environ[var]

    return _VAR.sub(value, text)


def _target(url: str, config: Config) -> Target:
    from gitmig.db.connection import parse_url

    parse_url(url)  # refuses a malformed URL without quoting it
    resolved = sqlite_relative_to(url, config.root)
    return Target(resolved, None, url if resolved != url else None)


def _strings(section: dict[str, Any], key: str, where: str) -> list[str]:
    value = section.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise GitmigError(f"{where}: {key} must be a list of strings")
    return list(value)


def _file_targets(config: Config, raw: Any, where: str) -> list[Target]:
    if not isinstance(raw, str) or "\x00" in raw:
        raise GitmigError(f"{where}: databases_file must be a file path")
    path = config.root / raw
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GitmigError(f"cannot read the databases_file {path} of {where}: "
                          f"{exc.strerror}") from None
    except UnicodeDecodeError:
        raise GitmigError(f"the databases_file {path} is not UTF-8 text") from None
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(_target(expand(line, f"{_rel(path, config)} line {number}"), config))
    return out


def _query(config: Config, section: dict[str, Any], where: str,
           default: Any) -> list[str]:
    """The first column of every row of `query`, run read-only on `directory`."""
    import sqlalchemy as sa

    from gitmig.db.connection import connect

    query, directory = section.get("query"), section.get("directory", default)
    if not isinstance(query, str) or not query.strip():
        raise GitmigError(f"{where}: query must be an SQL string")
    if not isinstance(directory, str):
        raise GitmigError(f"{where}: query needs directory = \"URL\", the database to run "
                          "it on")
    directory = _target(expand(directory, f"{where}: directory"), config).url
    with connect(directory, config.timeouts) as conn:
        rows = conn.execute(sa.text(query)).fetchall()
        conn.rollback()
    return [str(r[0]) for r in rows if r and r[0] is not None and str(r[0])]


def _rel(path: Path, config: Config) -> str:
    try:
        return str(path.relative_to(config.root))
    except ValueError:
        return str(path)
