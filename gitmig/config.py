"""`[tool.gitmig]` in pyproject.toml: which apps exist, where their migrations live.

Every path in the configuration is relative to the folder holding pyproject.toml, so the
same command works from any subfolder, as git does.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from gitmig import cache, hints, regular
from gitmig.cache import DATABASE_ENV  # defined there, which this module reads through
from gitmig.errors import GitmigError

LABEL_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
TIMEOUT_ENV = {"connect_timeout": "GITMIG_CONNECT_TIMEOUT", "read_timeout": "GITMIG_READ_TIMEOUT"}


@dataclass(frozen=True)
class Timeouts:
    """Seconds a database may take to accept a connection, and to answer a statement
    (None: no limit; a migration may rightly run for hours, so reads have none unless
    asked). [tool.gitmig] connect_timeout / read_timeout, then GITMIG_CONNECT_TIMEOUT /
    GITMIG_READ_TIMEOUT; hooks pass shorter ones of their own."""

    connect: float | None = 10
    read: float | None = None

    def from_env(self) -> Timeouts:
        values = {"connect_timeout": self.connect, "read_timeout": self.read}
        for key, var in TIMEOUT_ENV.items():
            text = os.environ.get(var)
            if text is not None:
                values[key] = seconds(text.strip(), var)
        return Timeouts(values["connect_timeout"], values["read_timeout"])


def seconds(value: object, where: str) -> float | None:
    """A timeout as written: a number of seconds, 0 (or "none") for no limit."""
    if isinstance(value, str) and value.lower() in ("none", "0", ""):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = -1.0
    if isinstance(value, bool) or not number >= 0 or number == float("inf"):
        raise GitmigError(f"{where} must be a number of seconds (0 for no limit), "
                          f"not {value!r}")
    return number or None
SEVERITIES = ("error", "warning", "notice")


@dataclass(frozen=True)
class LintSettings:
    """[tool.gitmig.lint]: rules silenced everywhere (`allow`), severities changed per
    rule (`severity`), and the rules whose findings block a commit in the pre-commit hook
    (`block`). Rule ids are checked by gitmig.lint, which knows them."""

    allow: tuple[str, ...] = ()
    severity: tuple[tuple[str, str], ...] = ()
    block: tuple[str, ...] = ()


@dataclass(frozen=True)
class SafeSettings:
    """`safe`, `lock_timeout`, `statement_timeout` and `lock_retries` of [tool.gitmig]:
    how makemigrations writes changes and how long migrate lets DDL wait for a lock
    (seconds; None: the database's own setting) before retrying the migration."""

    safe: bool = False
    lock_timeout: float | None = None
    statement_timeout: float | None = None
    lock_retries: int = 0


def _names(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GitmigError(f"{where} must be a list of rule ids, e.g. [\"drop-column\"]")
    return tuple(value)


def parse_lint(section: dict[str, Any], path: Path) -> LintSettings:
    raw = section.get("lint", {})
    where = f"[tool.gitmig.lint] in {path}"
    if not isinstance(raw, dict):
        raise GitmigError(f"{where} must be a table")
    unknown = sorted(set(raw) - {"allow", "severity", "block"})
    if unknown:
        raise GitmigError(f"{where}: unknown key {unknown[0]!r}; the keys are allow, "
                          "severity and block")
    severity = raw.get("severity", {})
    if not isinstance(severity, dict) or not all(
        isinstance(v, str) and v in SEVERITIES for v in severity.values()
    ):
        raise GitmigError(f"{where}: severity must map rule ids to one of "
                          f"{', '.join(SEVERITIES)}")
    return LintSettings(
        allow=_names(raw.get("allow", []), f"{where}: allow"),
        severity=tuple(sorted(severity.items())),
        block=_names(raw.get("block", []), f"{where}: block"),
    )


def parse_safe(section: dict[str, Any], path: Path) -> SafeSettings:
    safe = section.get("safe", False)
    if not isinstance(safe, bool):
        raise GitmigError(f"[tool.gitmig] safe in {path} must be true or false")
    retries = section.get("lock_retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise GitmigError(f"[tool.gitmig] lock_retries in {path} must be a whole number >= 0")
    lock, statement = (
        seconds(section[key], f"[tool.gitmig] {key} in {path}") if key in section else None
        for key in ("lock_timeout", "statement_timeout")
    )
    return SafeSettings(safe, lock, statement, retries)


MODELS_TIMEOUT_ENV = "GITMIG_MODELS_TIMEOUT"
MODELS_TIMEOUT = 60.0  # seconds an import of another revision's models may take


@dataclass(frozen=True)
class AppConfig:
    """One app of [tool.gitmig.apps]: its label, models module and migrations folder."""

    label: str
    models: str
    migrations: Path


@dataclass(frozen=True)
class Config:
    """[tool.gitmig] as read from `path`, defaults filled in."""

    path: Path  # the pyproject.toml
    database: str | None
    apps: dict[str, AppConfig]
    pythonpath: tuple[Path, ...] = field(default=())
    lockfile: bool = True  # keep <migrations>/gitmig.lock (gitmig.migrations.lockfile)
    timeouts: Timeouts = field(default=Timeouts())
    models_timeout: float = MODELS_TIMEOUT  # seconds; importing models in a child process
    lint: LintSettings = field(default=LintSettings())
    safe: SafeSettings = field(default=SafeSettings())
    ignore_tables: tuple[str, ...] = ()  # patterns of tables drift and adopt leave out
    # [tool.gitmig.fleets.NAME] as written; gitmig.fleet.spec reads each one when used
    fleets: dict[str, dict[str, Any]] = field(default_factory=dict, hash=False, compare=False)

    def models_time_limit(self) -> float:
        """The configured limit, unless GITMIG_MODELS_TIMEOUT says otherwise."""
        raw = os.environ.get(MODELS_TIMEOUT_ENV)
        if not raw:
            return self.models_timeout
        try:
            value = float(raw)
        except ValueError:
            value = 0
        if not value > 0:
            raise GitmigError(f"{MODELS_TIMEOUT_ENV}={raw!r} must be a number of seconds")
        return value

    @property
    def root(self) -> Path:
        return self.path.parent

    def app(self, label: str) -> AppConfig:
        try:
            return self.apps[label]
        except KeyError:
            known = ", ".join(sorted(self.apps)) or "none"
            raise GitmigError(
                f"unknown app {label!r} (configured apps: {known}); "
                f"add it under [tool.gitmig.apps] in {self.path}"
            ) from None

    def select(self, labels: tuple[str, ...] | list[str]) -> list[AppConfig]:
        """The named apps, in the order given, or all apps in configuration order."""
        if not labels:
            return list(self.apps.values())
        return [self.app(label) for label in dict.fromkeys(labels)]

    def database_url(self, override: str | None = None) -> str:
        url = override or os.environ.get(DATABASE_ENV) or self.database
        if not url:
            raise GitmigError(
                f"no database configured; set database in [tool.gitmig] of {self.path}, "
                f"or {DATABASE_ENV}, or pass --database"
            )
        return sqlite_relative_to(url, self.root)


_SQLITE = re.compile(r"^sqlite(\+\w+)?:///")


def sqlite_relative_to(url: str, root: Path) -> str:
    """sqlite:///db.sqlite3 means next to pyproject.toml, not the current folder.

    The folder goes into the URL escaped (a `?` or `%` in its name is a character of
    the path, not a query or an escape); the user's own part is kept as written. A
    SQLite URI filename (`sqlite:///file:db?mode=ro&uri=true`) gets the folder inside
    the URI.
    """
    prefix = _SQLITE.match(url)
    if prefix is None:
        return url
    rest = url[prefix.end():]
    path, sep, query = rest.partition("?")
    folder = quote(str(root), safe="/")
    if path.startswith("file:") and "uri=true" in query.lower().split("&"):
        inner = path[len("file:"):]
        if inner and not inner.startswith("/"):
            # escaped twice: SQLAlchemy decodes the URL, then SQLite decodes the URI
            return f"{prefix[0]}file:{quote(folder, safe='/')}/{inner}{sep}{query}"
        return url
    if path and path != ":memory:" and not os.path.isabs(path):
        return f"{prefix[0]}{folder}/{path}{sep}{query}"
    return url


def read_pyproject(path: Path) -> dict[str, Any]:
    """The document of a pyproject.toml, parsed once per content (gitmig.cache): every
    command reads it, and importing tomllib costs more than the rest of the reading."""
    try:
        data = regular.read_bytes(path)
    except OSError as exc:
        raise GitmigError(f"cannot read {path}: {exc.strerror}") from None
    scope, digest = str(path), cache.digest(data)
    known = cache.load("pyproject", scope)
    if isinstance(known, dict) and known.get("digest") == digest:
        document = known.get("document")
        if isinstance(document, dict):
            return document
    document = _parsed(path, data)
    cache.store("pyproject", scope, {"digest": digest, "document": document})
    return document


def _parsed(path: Path, data: bytes) -> dict[str, Any]:
    import tomllib

    try:
        return tomllib.loads(data.decode())
    except tomllib.TOMLDecodeError as exc:
        raise GitmigError(f"{path} is not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:  # TOML is UTF-8 text, always
        raise GitmigError(
            f"{path} is not valid TOML: it is not UTF-8 text (byte "
            f"0x{exc.object[exc.start]:02x} at offset {exc.start}); save it as UTF-8"
        ) from None


def find_pyproject(start: Path) -> Path | None:
    """The nearest pyproject.toml with a [tool.gitmig] section, walking up from start."""
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        try:
            if stat.S_ISDIR(candidate.stat().st_mode):
                continue
        except OSError:
            continue  # none here (a FIFO or a device is read, and refused, below)
        tool = read_pyproject(candidate).get("tool")
        if isinstance(tool, dict) and "gitmig" in tool:
            return candidate
    return None


def load_config(explicit: str | Path | None = None, cwd: Path | None = None) -> Config:
    if explicit is not None:
        path = Path(explicit)
        if path.is_dir():
            path = path / "pyproject.toml"
        if not path.exists():
            raise GitmigError(f"config file {explicit} does not exist")
        if not path.is_file():
            raise GitmigError(f"cannot read {path.absolute()}: {regular.NOT_REGULAR}")
        path = path.resolve()
    else:
        start = (cwd or Path.cwd()).resolve()
        found = find_pyproject(start)
        if found is None:
            raise GitmigError(
                f"no pyproject.toml with a [tool.gitmig] section in {start} or any parent folder",
                hint=f"{hints.INIT} or pass --config PATH",
            )
        path = found
    section = read_pyproject(path).get("tool", {}).get("gitmig")
    if not isinstance(section, dict):
        raise GitmigError(f"{path} has no [tool.gitmig] section", hint=hints.INIT)
    return parse_section(section, path)


def parse_section(section: dict[str, Any], path: Path) -> Config:
    root = path.parent
    database = section.get("database")
    if database is not None and not isinstance(database, str):
        raise GitmigError(f"[tool.gitmig] database in {path} must be a string URL")
    raw_pythonpath = section.get("pythonpath", [])
    if not isinstance(raw_pythonpath, list) or not all(
        isinstance(p, str) and "\x00" not in p for p in raw_pythonpath
    ):
        raise GitmigError(f"[tool.gitmig] pythonpath in {path} must be a list of folders")
    pythonpath = tuple((root / p).resolve() for p in raw_pythonpath)
    lockfile = section.get("lockfile", True)
    if not isinstance(lockfile, bool):
        raise GitmigError(f"[tool.gitmig] lockfile in {path} must be true or false")
    timeout = section.get("models_timeout", MODELS_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise GitmigError(f"[tool.gitmig] models_timeout in {path} must be a number of seconds")
    raw_apps = section.get("apps", {})
    if not isinstance(raw_apps, dict):
        raise GitmigError(f"[tool.gitmig.apps] in {path} must be a table of LABEL = \"module\"")
    apps = {}
    for label, value in raw_apps.items():
        apps[label] = parse_app(label, value, path, pythonpath)
    if not apps:
        raise GitmigError(
            f"no apps in [tool.gitmig.apps] of {path}; add one, e.g. blog = \"blog.models\""
        )
    timeouts = Timeouts(*(
        seconds(section[key], f"[tool.gitmig] {key} in {path}") if key in section else default
        for key, default in (("connect_timeout", Timeouts.connect),
                             ("read_timeout", Timeouts.read))
    ))
    ignore = section.get("ignore_tables", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) and p for p in ignore):
        raise GitmigError(f"[tool.gitmig] ignore_tables in {path} must be a list of table "
                          "names or patterns, e.g. [\"legacy_*\"]")
    fleets = section.get("fleets", {})
    if not isinstance(fleets, dict) or not all(isinstance(v, dict) for v in fleets.values()):
        raise GitmigError(f"[tool.gitmig.fleets] in {path} must hold tables: "
                          "[tool.gitmig.fleets.NAME] with databases = [...] or url = ...")
    return Config(path=path, database=database, apps=apps, pythonpath=pythonpath,
                  lockfile=lockfile, timeouts=timeouts, models_timeout=float(timeout),
                  lint=parse_lint(section, path), safe=parse_safe(section, path),
                  ignore_tables=tuple(ignore), fleets=fleets)


def parse_app(label: str, value: Any, path: Path, pythonpath: tuple[Path, ...]) -> AppConfig:
    if not LABEL_RE.match(label):
        raise GitmigError(f"app label {label!r} in {path} must be a Python identifier")
    migrations: str | None = None
    if isinstance(value, str):
        models = value
    elif isinstance(value, dict) and isinstance(value.get("models"), str):
        models = value["models"]
        migrations = value.get("migrations")
        if migrations is not None and (not isinstance(migrations, str) or "\x00" in migrations):
            raise GitmigError(f"app {label!r} in {path}: migrations must be a folder path")
    else:
        raise GitmigError(
            f"app {label!r} in {path} must be \"module\" or "
            "{ models = \"module\", migrations = \"folder\" }"
        )
    if not MODULE_RE.match(models):
        raise GitmigError(f"app {label!r} in {path}: {models!r} is not a Python module path")
    root = path.parent
    if migrations is None:
        folder = default_migrations_folder(models, root, pythonpath)
    else:
        folder = (root / migrations).resolve()
    return AppConfig(label=label, models=models, migrations=folder)


def default_migrations_folder(models: str, root: Path, pythonpath: tuple[Path, ...]) -> Path:
    package = models.rpartition(".")[0].replace(".", "/")
    for base in (root, *pythonpath):
        if package and (base / package).is_dir():
            return (base / package / "migrations").resolve()
    return (root / package / "migrations").resolve() if package else (root / "migrations")
