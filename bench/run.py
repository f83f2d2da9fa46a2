"""gitmig beside Django and Alembic on one schema history: timings, memory, targets.

    pip install -e '.[bench]' && python bench/run.py            # N = 50, 200, 1000
    python bench/run.py --quick                                 # N = 50, 2 runs: a smoke run

Every measurement is a whole process, as a person or CI runs it: a warm-up run, then
several runs, and the median. Peak memory is the child's ru_maxrss (os.wait4). A gitmig
command that does not exist yet gets a "not available yet" row and the rest goes on; it is
measured as soon as it lands. Writes bench/RESULTS.md (see bench/README.md).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import deploy, growth, schemas
from bench import generate as gen
from gitmig.migrations import lockfile
from gitmig.migrations.lockfile import LOCK_NAME

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
BIN = Path(sys.executable).parent
PYTHON = sys.executable
DEFAULT_PG = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
TIMEOUT = 900.0
NOT_YET = "not available yet"

# --------------------------------------------------------------------------------------
# Running and timing one command
# --------------------------------------------------------------------------------------


@dataclass
class Measurement:
    """One row: a command at one N, timed over several runs."""

    item: str
    tool: str
    n: int | None
    command: str = ""
    times: list[float] = field(default_factory=list)
    peak_kb: int = 0
    status: str = "ok"  # ok, or why there is no number
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok" and bool(self.times)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.ok else None


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITMIG_", "BENCH_", "DJANGO_", "ALEMBIC_"))
           and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(gen.GIT_ENV)
    env.update(extra or {})
    return env


@dataclass
class Run:
    seconds: float
    code: int
    peak_kb: int
    output: str


# Commands are started by a small helper process, not by the bench itself: a child's
# ru_maxrss counts the memory of the process it was forked from, so forking from the bench
# (which holds SQLAlchemy and Django) would inflate every peak. The helper is a bare
# interpreter (python -S): about 10 MiB is the least any row can show.
_SPAWNER = r"""
import json, os, signal, sys, time
current = [0]
signal.signal(signal.SIGALRM, lambda *a: current[0] and os.kill(current[0], signal.SIGKILL))
for line in sys.stdin:
    req = json.loads(line)
    out = os.open(req["out"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(req["cwd"])
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(out, 1)
            os.dup2(out, 2)
            os.execve(req["cmd"][0], req["cmd"], req["env"])
        finally:
            os._exit(127)
    os.close(out)
    current[0] = pid
    signal.alarm(max(1, int(req["timeout"])))
    _, status, usage = os.wait4(pid, 0)
    signal.alarm(0)
    current[0] = 0
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "code": os.waitstatus_to_exitcode(status),
                      "peak_kb": usage.ru_maxrss}), flush=True)
"""


class Spawner:
    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def run(self, cmd: list[str], cwd: Path, env: dict[str, str], timeout: float) -> Run:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen([PYTHON, "-S", "-u", "-c", _SPAWNER], text=True,
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        program = cmd[0] if os.path.isabs(cmd[0]) else shutil.which(cmd[0], path=env["PATH"])
        with tempfile.NamedTemporaryFile(delete=False) as f:
            out = Path(f.name)
        try:
            request = {"cmd": [program or cmd[0], *cmd[1:]], "cwd": str(cwd), "env": env,
                       "timeout": timeout, "out": str(out)}
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            reply = json.loads(self.proc.stdout.readline())
            text = out.read_text(errors="replace")
        finally:
            out.unlink(missing_ok=True)
        return Run(reply["seconds"], reply["code"], reply["peak_kb"], text)


SPAWNER = Spawner()


def run_once(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = TIMEOUT) -> Run:
    return SPAWNER.run(cmd, cwd, env, timeout)


def tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()][-lines:]
    return " / ".join(kept)[:300]


class Timer:
    def __init__(self, runs: int, warmup: int, log: Callable[[str], None]) -> None:
        self.runs = runs
        self.warmup = warmup
        self.log = log

    def measure(
        self,
        m: Measurement,
        cmd: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        setup: Callable[[], None] | None = None,
        ok: Iterable[int] = (0,),
        after_first: Callable[[], None] | None = None,
        first_env: dict[str, str] | None = None,
        runs: int | None = None,
    ) -> Measurement:
        """Warm up, then time `runs` runs; a run with an unexpected exit stops the row."""
        m.command = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
        base = clean_env(env)
        wanted = runs if runs is not None else self.runs
        total = self.warmup + wanted
        i = 0
        while i < total:
            if setup is not None:
                setup()
            run = run_once(cmd, cwd, {**base, **(first_env or {})} if i == 0 else base)
            m.peak_kb = max(m.peak_kb, run.peak_kb)
            if run.code not in set(ok):
                m.status = f"failed (exit {run.code}): {tail(run.output)}"
                m.times = []
                break
            if i == 0 and after_first is not None:
                after_first()
            if i >= self.warmup:
                m.times.append(run.seconds)
            elif runs is None and run.seconds > 8 and wanted > 3:
                wanted, total = 3, self.warmup + 3  # slow commands: three runs are plenty
            i += 1
        self.log(_progress(m))
        return m


def _progress(m: Measurement) -> str:
    where = f"N={m.n}" if m.n is not None else "base"
    what = f"{m.median:8.3f} s  ({len(m.times)} runs)" if m.ok else m.status
    return f"  {where:7} {m.item:16} {m.tool:16} {what}"


def skipped(item: str, tool: str, n: int | None, why: str, log: Callable[[str], None]
            ) -> Measurement:
    m = Measurement(item, tool, n, status=why)
    log(_progress(m))
    return m


# --------------------------------------------------------------------------------------
# What gitmig offers right now
# --------------------------------------------------------------------------------------


def gitmig_offers(cwd: Path, *words: str, option: str | None = None) -> bool:
    """Does `gitmig WORDS --help` work (and mention OPTION)? Other commands land over time."""
    done = subprocess.run([str(BIN / "gitmig"), *words, "--help"], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True)
    if done.returncode != 0:
        return False
    return option is None or option in done.stdout


# --------------------------------------------------------------------------------------
# The projects of one N
# --------------------------------------------------------------------------------------


@dataclass
class Projects:
    n: int
    root: Path

    @property
    def gitmig(self) -> Path:
        return self.root / "gitmig"

    @property
    def django(self) -> Path:
        return self.root / "django"

    @property
    def alembic(self) -> Path:
        return self.root / "alembic"

    @property
    def meta(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.root / "meta.json").read_text())
        return data


def prepare(n: int, work: Path, seed: int, regenerate: bool, log: Callable[[str], None]
            ) -> Projects:
    root = work / f"n{n}-seed{seed}"
    meta_path = root / "meta.json"
    fresh = True
    if meta_path.exists() and not regenerate:
        meta = json.loads(meta_path.read_text())
        django_missing = "skipped" in meta.get("django", {}) and gen.django_available()
        fresh = meta.get("generator") != gen.GENERATOR_VERSION or django_missing
    if fresh:
        log(f"Generating the N={n} history for gitmig, Django and Alembic in {root} ...")
        started = time.perf_counter()
        gen.generate(n, root, seed)
        log(f"  generated in {time.perf_counter() - started:.0f} s")
    p = Projects(n, root)
    add_sync_record(p, log)
    settings = p.django / "settings.py"
    if settings.exists() and settings.read_text() != gen.DJANGO_SETTINGS:
        settings.write_text(gen.DJANGO_SETTINGS)  # a newer template (MariaDB): no regeneration
    reset(p)
    return p


RECORD_SCRIPT = """
import sys
from gitmig.config import load_config
from gitmig.migrations import syncrecord
config = load_config(None)
if sys.argv[1:] == ["--answers"]:
    sys.exit(0 if syncrecord.in_sync(config) else 1)
from gitmig.schema.models import models_state
models_state(config)
sys.exit(0 if syncrecord.refresh(config, list(config.apps)) else 1)
"""


def add_sync_record(p: Projects, log: Callable[[str], None]) -> None:
    """The record of the models in sync that the developer's last `makemigrations` leaves in
    the lock file (gitmig.migrations.syncrecord), added to the last commit: the generator
    writes migrations through gitmig's API in one process, not through that command."""
    lock = p.gitmig / "shop" / "migrations" / "gitmig.lock"
    git(p.gitmig, "reset", "-q", "--hard", "HEAD")
    with tempfile.TemporaryDirectory() as cache:
        answers = subprocess.run([str(BIN / "python"), "-c", RECORD_SCRIPT, "--answers"],
                                 cwd=p.gitmig, env={**clean_env(), "GITMIG_CACHE_DIR": cache},
                                 capture_output=True, text=True)
    if answers.returncode == 0:
        return  # a record this gitmig trusts (one of an older format is written again)
    with tempfile.TemporaryDirectory() as cache:
        done = subprocess.run([str(BIN / "python"), "-c", RECORD_SCRIPT], cwd=p.gitmig,
                              env={**clean_env(), "GITMIG_CACHE_DIR": cache},
                              capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"cannot record the models in sync: {done.stderr.strip()}")
    git(p.gitmig, "add", str(lock))
    git(p.gitmig, "commit", "-q", "--amend", "--no-edit", "--no-verify")
    log("  added the models' record to the last commit's lock file")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env=clean_env(), capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()}")
    return done.stdout


def reset(p: Projects) -> None:
    """Put the projects back as generated: no databases, clean git tree, no hooks."""
    for folder in (p.gitmig, p.django, p.alembic, p.root / "floor"):
        for db in folder.glob("*.sqlite3*") if folder.exists() else []:
            db.unlink()
    git(p.gitmig, "reset", "-q", "--hard", "HEAD")
    git(p.gitmig, "clean", "-q", "-f", "-d")
    hooks = Path(git(p.gitmig, "rev-parse", "--git-path", "hooks").strip())
    hooks = hooks if hooks.is_absolute() else p.gitmig / hooks
    for name in ("pre-commit", "post-merge", "post-checkout"):
        (hooks / name).unlink(missing_ok=True)
    shutil.rmtree(p.gitmig / ".bench" / "cache", ignore_errors=True)


def snapshot(folder: Path) -> set[str]:
    return {os.path.join(d, f) for d, dirs, files in os.walk(folder) for f in files + dirs}


def forget_caches(folder: Path, baseline: set[str]) -> None:
    """Remove what gitmig wrote since `baseline`, but for databases and Python's bytecode:
    the next run is gitmig's first after a pull (its own cache empty)."""
    for d, dirs, files in os.walk(folder, topdown=True):
        for name in list(dirs):
            path = os.path.join(d, name)
            if path not in baseline and name != "__pycache__":
                shutil.rmtree(path, ignore_errors=True)
                dirs.remove(name)
        for name in files:
            path = os.path.join(d, name)
            if (path not in baseline and ".sqlite3" not in name and "__pycache__" not in d
                    and not name.endswith(".lock")):
                os.unlink(path)


SERVICES = '''"""Code that is not a model: a commit touching it needs no migration."""


def total(prices: list[float]) -> float:
    return sum(prices)
'''


# --------------------------------------------------------------------------------------
# Databases
# --------------------------------------------------------------------------------------


class Postgres:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.error: str | None = None
        try:
            self._admin("SELECT 1")
        except Exception as exc:  # no server, no driver: say so in the table
            self.error = f"PostgreSQL not reachable at {self.url}: {type(exc).__name__}"

    def _admin(self, sql: str) -> Any:
        import sqlalchemy as sa

        engine = sa.create_engine(self.sa_url("postgres"), isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return result.fetchall() if result.returns_rows else []
        finally:
            engine.dispose()

    def sa_url(self, db: str) -> str:
        base = self.url.replace("postgresql://", "postgresql+psycopg://", 1)
        return f"{base}/{db}"

    def plain_url(self, db: str) -> str:
        return f"{self.url}/{db}"

    def fresh(self, db: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{db}"')

    def drop(self, db: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    def version(self) -> str:
        try:
            return str(self._admin("SHOW server_version")[0][0])
        except Exception:
            return "unknown"


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def remove_db(*paths: Path) -> Callable[[], None]:
    def setup() -> None:
        for path in paths:
            for f in path.parent.glob(path.name + "*"):
                f.unlink()
    return setup


def ddl_script(recorded: Path, out: Path, bookkeeping: str = "alembic_version") -> int:
    """Recorded statements, less reads and the tool's own bookkeeping, as one transaction."""
    text = recorded.read_text() if recorded.exists() else ""
    statements = [s.strip() for s in text.split("\n-- end\n") if s.strip()]
    kept = [s for s in statements
            if not re.match(r"^(SELECT|PRAGMA|SHOW|BEGIN|COMMIT|ROLLBACK)\b", s, re.I)
            and bookkeeping not in s]
    out.write_text("BEGIN;\n" + "\n".join(kept) + "\nCOMMIT;\n")
    return len(kept)


# --------------------------------------------------------------------------------------
# The measurements of one N
# --------------------------------------------------------------------------------------


@dataclass
class Bench:
    timer: Timer
    pg: Postgres | None
    log: Callable[[str], None]
    maria: deploy.MariaDB | None = None
    results: list[Measurement] = field(default_factory=list)
    schema_checks: list[str] = field(default_factory=list)

    def add(self, m: Measurement) -> Measurement:
        self.results.append(m)
        return m

    def get(self, item: str, tool: str, n: int | None) -> Measurement | None:
        for m in self.results:
            if m.item == item and m.tool == tool and m.n == n:
                return m
        return None

    # -- baselines ---------------------------------------------------------------------

    def baselines(self) -> None:
        t = self.timer
        self.add(t.measure(Measurement("baseline", "python -c pass", None),
                           [PYTHON, "-c", "pass"], REPO))
        self.add(t.measure(Measurement("baseline", "import sqlalchemy", None),
                           [PYTHON, "-c", "import sqlalchemy"], REPO))

    # -- one N -------------------------------------------------------------------------

    def run_n(self, p: Projects) -> None:
        n = p.n
        has_django = "skipped" not in p.meta.get("django", {}) and p.django.exists()
        baseline = snapshot(p.gitmig)
        descriptions: dict[str, schemas.Description] = {}
        self.migrate_sqlite(p, has_django, descriptions)
        self.check_schemas(n, "SQLite", descriptions, types=True)
        deploy.migrate_sqlite_deploy(self, p, has_django)
        self.show(p, has_django)
        self.check(p, has_django, baseline)
        self.hooks(p)
        self.conflicts(p)
        pg_descriptions: dict[str, schemas.Description] = {}
        self.migrate_postgres(p, has_django, pg_descriptions)
        self.check_schemas(n, "PostgreSQL", pg_descriptions, types=True)
        deploy.migrate_mariadb(self, p, self.maria, has_django)
        reset(p)

    def migrate_sqlite(self, p: Projects, has_django: bool,
                       descriptions: dict[str, schemas.Description]) -> None:
        n, t = p.n, self.timer
        item = "migrate sqlite"

        def describe(tool: str, db: Path) -> Callable[[], None]:
            return lambda: descriptions.__setitem__(tool, schemas.reflect(sqlite_url(db)))

        if gitmig_offers(p.gitmig, "migrate"):
            db = p.gitmig / "db.sqlite3"
            self.add(t.measure(Measurement(item, "gitmig", n), [str(BIN / "gitmig"), "migrate"],
                               p.gitmig, setup=remove_db(db), after_first=describe("gitmig", db)))
            # The full path: what a database at a new path (or a first run) costs.
            self.add(t.measure(Measurement(item, NO_CACHE, n), [str(BIN / "gitmig"), "migrate"],
                               p.gitmig, env={"GITMIG_NO_CACHE": "1"}, setup=remove_db(db)))
        else:
            self.add(skipped(item, "gitmig", n, f"{NOT_YET}: `gitmig migrate`", self.log))
        if has_django:
            db = p.django / "db.sqlite3"
            self.add(t.measure(Measurement(item, "django", n),
                               [PYTHON, "manage.py", "migrate"], p.django,
                               setup=remove_db(db), after_first=describe("django", db)))
        else:
            self.add(skipped(item, "django", n, "Django not installed", self.log))
        db = p.alembic / "db.sqlite3"
        recorded = p.root / "floor" / "sqlite-statements.sql"
        recorded.parent.mkdir(exist_ok=True)
        recorded.unlink(missing_ok=True)
        self.add(t.measure(Measurement(item, "alembic", n),
                           [str(BIN / "alembic"), "upgrade", "head"], p.alembic,
                           setup=remove_db(db), after_first=describe("alembic", db),
                           first_env={"BENCH_RECORD_SQL": str(recorded)}))
        script = p.root / "floor" / "sqlite-ddl.sql"
        count = ddl_script(recorded, script)
        floor_db = p.root / "floor" / "db.sqlite3"
        sqlite3 = shutil.which("sqlite3")
        if sqlite3 and count:
            m = t.measure(Measurement(item, "sqlite3 floor", n), [sqlite3, str(floor_db),
                          f".read {script}"], p.root / "floor", setup=remove_db(floor_db),
                          after_first=describe("sqlite3 floor", floor_db))
            m.note = f"{count} statements recorded from alembic upgrade head"
            self.add(m)
        else:
            why = "sqlite3 command not found" if not sqlite3 else "no DDL recorded"
            self.add(skipped(item, "sqlite3 floor", n, why, self.log))

    def migrate_postgres(self, p: Projects, has_django: bool,
                         descriptions: dict[str, schemas.Description]) -> None:
        n, t, pg = p.n, self.timer, self.pg
        item = "migrate postgres"
        tools = ["gitmig", "django", "alembic", "psql floor"]
        if pg is None or pg.error:
            for tool in tools:
                self.add(skipped(item, tool, n, pg.error if pg else "--no-postgres", self.log))
            return

        def fresh(db: str) -> Callable[[], None]:
            return lambda: pg.fresh(db)

        def describe(tool: str, db: str) -> Callable[[], None]:
            return lambda: descriptions.__setitem__(tool, schemas.reflect(pg.sa_url(db)))

        dbs = {tool: f"gitmig_bench_{re.sub(r'[^a-z]', '', tool)}_{n}" for tool in tools}
        try:
            if gitmig_offers(p.gitmig, "migrate"):
                db = dbs["gitmig"]
                self.add(t.measure(Measurement(item, "gitmig", n),
                                   [str(BIN / "gitmig"), "migrate"], p.gitmig,
                                   env={"GITMIG_DATABASE_URL": pg.sa_url(db)}, setup=fresh(db),
                                   after_first=describe("gitmig", db)))
                self.add(t.measure(Measurement(item, NO_CACHE, n),
                                   [str(BIN / "gitmig"), "migrate"], p.gitmig,
                                   env={"GITMIG_DATABASE_URL": pg.sa_url(db),
                                        "GITMIG_NO_CACHE": "1"}, setup=fresh(db)))
            else:
                self.add(skipped(item, "gitmig", n, f"{NOT_YET}: `gitmig migrate`", self.log))
            if has_django:
                db = dbs["django"]
                self.add(t.measure(Measurement(item, "django", n),
                                   [PYTHON, "manage.py", "migrate"], p.django,
                                   env={"BENCH_DATABASE_URL": pg.plain_url(db)}, setup=fresh(db),
                                   after_first=describe("django", db)))
            else:
                self.add(skipped(item, "django", n, "Django not installed", self.log))
            db = dbs["alembic"]
            recorded = p.root / "floor" / "pg-statements.sql"
            recorded.unlink(missing_ok=True)
            self.add(t.measure(Measurement(item, "alembic", n),
                               [str(BIN / "alembic"), "upgrade", "head"], p.alembic,
                               env={"BENCH_DATABASE_URL": pg.sa_url(db)}, setup=fresh(db),
                               after_first=describe("alembic", db),
                               first_env={"BENCH_RECORD_SQL": str(recorded)}))
            script = p.root / "floor" / "pg-ddl.sql"
            count = ddl_script(recorded, script)
            psql = shutil.which("psql")
            if psql and count:
                db = dbs["psql floor"]
                m = t.measure(Measurement(item, "psql floor", n),
                              [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", str(script),
                               pg.plain_url(db)], p.root / "floor", setup=fresh(db),
                              after_first=describe("psql floor", db))
                m.note = f"{count} statements recorded from alembic upgrade head"
                self.add(m)
            else:
                why = "psql not found" if not psql else "no DDL recorded"
                self.add(skipped(item, "psql floor", n, why, self.log))
            if "gitmig" in descriptions:  # its database is at head: the everyday commands
                deploy.postgres_at_head(self, p, pg.sa_url(dbs["gitmig"]),
                                        pg.plain_url(dbs["django"]),
                                        has_django and "django" in descriptions)
        finally:
            for db in dbs.values():
                pg.drop(db)

    def check_schemas(self, n: int, where: str, found: dict[str, schemas.Description],
                      types: bool) -> None:
        if len(found) < 2:
            self.schema_checks.append(
                f"N={n}, {where}: fewer than two tools migrated ({', '.join(found) or 'none'}); "
                "nothing to compare")
            return
        names = list(found)
        ref = names[0]
        problems = []
        for other in names[1:]:
            diff = schemas.differences(found[ref], found[other], ref, other, types)
            if diff:
                problems.append(f"{other} differs from {ref} in {len(diff)} places, e.g. "
                                + "; ".join(diff[:3]))
        if problems:
            self.schema_checks.append(f"N={n}, {where}: DIFFERENT — " + " | ".join(problems))
        else:
            self.schema_checks.append(
                f"N={n}, {where}: identical across {', '.join(names)} "
                f"({schemas.size(found[ref])})")
        self.log("  " + self.schema_checks[-1])

    def show(self, p: Projects, has_django: bool) -> None:
        n, t = p.n, self.timer
        if gitmig_offers(p.gitmig, "showmigrations"):
            self.add(t.measure(Measurement("showmigrations", "gitmig", n),
                               [str(BIN / "gitmig"), "showmigrations"], p.gitmig))
        else:
            self.add(skipped("showmigrations", "gitmig", n, f"{NOT_YET}: `gitmig showmigrations`",
                             self.log))
        if has_django:
            self.add(t.measure(Measurement("showmigrations", "django", n),
                               [PYTHON, "manage.py", "showmigrations"], p.django))
        self.add(t.measure(Measurement("showmigrations", "alembic history", n),
                           [str(BIN / "alembic"), "history"], p.alembic))
        self.add(t.measure(Measurement("showmigrations", "alembic heads", n),
                           [str(BIN / "alembic"), "heads"], p.alembic))

    def check(self, p: Projects, has_django: bool, baseline: set[str]) -> None:
        n, t = p.n, self.timer
        item = "check"
        cmd = [str(BIN / "gitmig"), "makemigrations", "--check"]
        cache_env = {"XDG_CACHE_HOME": str(p.gitmig / ".bench" / "cache")}
        # First run after a pull: gitmig's own cache is gone (Python's bytecode is kept,
        # as it is for Django).
        m = t.measure(Measurement(item, "gitmig (1st run)", n), cmd, p.gitmig, env=cache_env,
                      setup=lambda: forget_caches(p.gitmig, baseline))
        self.add(m)
        # ... after a model edit that needed no migration: the lock's record no longer
        # matches, and nothing else is there either (the full comparison).
        self.add(t.measure(Measurement(item, FULL_CHECK, n), cmd, p.gitmig,
                           env={**cache_env, "GITMIG_NO_CACHE": "1"}))
        self.add(t.measure(Measurement(item, "gitmig", n), cmd, p.gitmig, env=cache_env))
        if has_django:
            self.add(t.measure(Measurement(item, "django", n),
                               [PYTHON, "manage.py", "makemigrations", "--check", "--dry-run"],
                               p.django))
        # alembic check needs the database at head: migrate sqlite left it there.
        self.add(t.measure(Measurement(item, "alembic", n), [str(BIN / "alembic"), "check"],
                           p.alembic))

    def hooks(self, p: Projects) -> None:
        """The installed pre-commit hook, run as git runs it, on three kinds of commit."""
        n, t = p.n, self.timer
        items = ("hook, no python", "hook, no model", "hook, model")
        if not gitmig_offers(p.gitmig, "hooks", "install"):
            for item in items:
                self.add(skipped(item, "gitmig", n, f"{NOT_YET}: `gitmig hooks`", self.log))
            return
        done = run_once([str(BIN / "gitmig"), "hooks", "install"], p.gitmig, clean_env())
        hook = Path(git(p.gitmig, "rev-parse", "--git-path", "hooks/pre-commit").strip())
        hook = hook if hook.is_absolute() else p.gitmig / hook
        if done.code != 0 or not hook.exists():
            why = f"`gitmig hooks install` failed (exit {done.code}): {tail(done.output)}"
            for item in items:
                self.add(skipped(item, "gitmig", n, why, self.log))
            return

        def commit_of(files: dict[str, str | Path]) -> None:
            git(p.gitmig, "reset", "-q", "--hard", "HEAD")
            for rel, content in files.items():
                path = p.gitmig / rel
                if isinstance(content, Path):
                    shutil.copy(content, path)
                else:
                    path.write_text(content)
            git(p.gitmig, "add", *files)

        readme = (p.gitmig / "README.md").read_text()
        prepared = p.gitmig / ".bench" / "hook"
        migration = next(prepared.glob("[0-9][0-9][0-9][0-9]_*.py"))
        lock = p.gitmig / gen.APP / "migrations" / LOCK_NAME
        committed = lockfile.parse(lock.read_bytes())
        assert committed is not None, f"{lock} is not a lock file"
        new_lock = gen.LockKeeper(committed.chain).add(migration.stem, migration.read_text())
        commits = {
            "hook, no python": ({"README.md": readme + "A line.\n"}, "README.md staged"),
            "hook, no model": ({f"{gen.APP}/services.py": SERVICES},
                               "a new non-model .py staged"),
            "hook, model": ({f"{gen.APP}/models.py": prepared / "models.py",
                             f"{gen.APP}/migrations/{migration.name}": migration,
                             f"{gen.APP}/migrations/{LOCK_NAME}": new_lock},
                            f"models.py and its new migration {migration.name} staged"),
        }
        for item, (files, note) in commits.items():
            commit_of(files)
            if item == "hook, model":
                # The developer ran `gitmig makemigrations` on these models just before
                # committing (the generator wrote the migration here instead): its cache
                # entries are what the hook finds. `makemigrations --check` on the staged
                # files leaves the same ones (bench/README.md, "The hook").
                run_once([str(BIN / "gitmig"), "makemigrations", "--check"], p.gitmig,
                         clean_env())
            m = t.measure(Measurement(item, "gitmig", n), [str(hook)], p.gitmig)
            m.note = note
            self.add(m)
        git(p.gitmig, "reset", "-q", "--hard", "HEAD")

    def conflicts(self, p: Projects) -> None:
        n, t = p.n, self.timer
        if gitmig_offers(p.gitmig, "conflicts", option="--all-branches"):
            m = t.measure(Measurement("conflicts", "gitmig", n),
                          [str(BIN / "gitmig"), "conflicts", "--all-branches"], p.gitmig,
                          ok=(0, 1))
            m.note = f"{p.meta['gitmig'].get('branches', '?')} branches"
            self.add(m)
        else:
            self.add(skipped("conflicts", "gitmig", n,
                             f"{NOT_YET}: `gitmig conflicts --all-branches`", self.log))


# --------------------------------------------------------------------------------------
# Targets, growth, and the report
# --------------------------------------------------------------------------------------


@dataclass
class Target:
    text: str
    status: str  # PASS, MISS, n/a
    detail: str


def faster(peer_over_gitmig: float) -> str:
    v = peer_over_gitmig
    return f"{v:.1f}x faster" if v >= 1 else f"{1 / v:.1f}x slower"


def ratio(a: Measurement | None, b: Measurement | None) -> float | None:
    if a is None or b is None or not a.ok or not b.ok:
        return None
    assert a.median is not None and b.median is not None
    return a.median / b.median if b.median else None


def evaluate(bench: Bench, sizes: list[int]) -> list[Target]:
    """Every target (issue 14's, and the hook's) judged at every N measured."""
    g = bench.get
    out: list[Target] = []

    def judge(text: str, value: float | None, ok: Callable[[float], bool], detail: str,
              missing: str) -> None:
        if value is None:
            out.append(Target(text, "n/a", missing))
            return
        words = detail.replace("{faster}", faster(1 / value) if value else "").format(v=value)
        out.append(Target(text, "PASS" if ok(value) else "MISS", words))

    def why(m: Measurement | None) -> str:
        return m.status if m is not None and not m.ok else "not measured"

    py = g("baseline", "python -c pass", None)
    for n in sorted(sizes):
        at = f"N={n}: "
        dj_check = g("check", "django", n)
        for item, what in (("hook, no python", "only README.md staged"),
                           ("hook, no model", "a non-model .py staged")):
            hook = g(item, "gitmig", n)
            judge(f"{at}pre-commit hook, no model ({what}): <= 3x `python -c pass`",
                  ratio(hook, py), lambda v: v <= 3, "{v:.2f}x python -c pass", why(hook))
        hook = g("hook, model", "gitmig", n)
        judge(f"{at}pre-commit hook, a model and its migration staged: <= Django's "
              "makemigrations --check", ratio(hook, dj_check), lambda v: v <= 1,
              "{v:.2f}x Django ({faster})", why(hook))
        warm, cold = g("check", "gitmig", n), g("check", "gitmig (1st run)", n)
        judge(f"{at}makemigrations --check, warm: <= 0.25x Django's", ratio(warm, dj_check),
              lambda v: v <= 0.25, "{v:.2f}x Django ({faster})", why(warm))
        judge(f"{at}makemigrations --check, 1st run (no cache): <= 1.0x Django's",
              ratio(cold, dj_check), lambda v: v <= 1, "{v:.2f}x Django ({faster})", why(cold))
        for item, where, floor, most in (("migrate sqlite", "SQLite", "sqlite3 floor", 3),
                                         ("migrate postgres", "PostgreSQL", "psql floor", 2)):
            mig = g(item, "gitmig", n)
            for peer in ("django", "alembic"):
                judge(f"{at}migrate from empty, {where}: <= 0.5x {peer.title()}",
                      ratio(mig, g(item, peer, n)), lambda v: v <= 0.5,
                      "{v:.2f}x (" + "{faster})", why(mig))
            judge(f"{at}migrate from empty, {where}: <= {most}x the {floor}",
                  ratio(mig, g(item, floor, n)), lambda v, most=most: v <= most,
                  "{v:.1f}x the floor", why(mig))
        for item, where, most in (("migrate noop", "SQLite", 0.25),
                                  ("migrate noop postgres", "PostgreSQL", 0.25),
                                  ("migrate one", "SQLite", 0.5)):
            mig = g(item, "gitmig", n)
            what = "nothing to do" if "noop" in item else "one pending"
            judge(f"{at}migrate with {what}, {where}: <= {most}x Django's",
                  ratio(mig, g(item, "django", n)), lambda v, most=most: v <= most,
                  "{v:.2f}x Django ({faster})", why(mig))
        for item, where in (("showmigrations", "SQLite"),
                            ("showmigrations postgres", "PostgreSQL")):
            show = g(item, "gitmig", n)
            judge(f"{at}showmigrations, {where}: <= 0.25x Django's",
                  ratio(show, g(item, "django", n)), lambda v: v <= 0.25,
                  "{v:.2f}x Django ({faster})", why(show))
        conf = g("conflicts", "gitmig", n)
        judge(f"{at}conflicts --all-branches, 50 branches: under 1 s",
              conf.median if conf and conf.ok else None, lambda v: v < 1, "{v:.2f} s",
              why(conf))
        peaks = [m for m in bench.results if m.n == n and m.tool.startswith("gitmig")
                 and m.peak_kb]
        if peaks:
            top = max(peaks, key=lambda m: m.peak_kb)
            judge(f"{at}peak memory of every gitmig command under 100 MiB",
                  top.peak_kb / 1024, lambda v: v < 100,
                  "{v:.0f} MiB at most (" + f"{top.item})", "")
    growth = growth_rows(bench, sizes)
    gitmig_growth = [r for r in growth if r[1].startswith("gitmig")]
    if len(sizes) < 2:
        out.append(Target("cost grows at most linearly with N (every gitmig command)", "n/a",
                          "needs two sizes of N"))
    elif not gitmig_growth:
        out.append(Target("cost grows at most linearly with N (every gitmig command)", "n/a",
                          "no gitmig command measured at two sizes"))
    else:
        # A row with a floor (the same DDL by the database's own client) may grow as fast
        # as the floor does: the bench's history adds columns and indexes to the same
        # tables, so the DDL of the whole history itself grows faster than N.
        floors = {(item, a, b): r for item, tool, a, b, r in growth if "floor" in tool}
        worse = []
        for item, tool, a, b, r in gitmig_growth:
            floor = floors.get((item, a, b))
            allowed = max(b / a, floor or 0.0)
            if r > allowed * 1.1:
                worse.append(f"{item} ({tool}) {r:.1f}x for {b / a:.0f}x N"
                             + (f" (floor {floor:.1f}x)" if floor else ""))
        out.append(Target("cost grows at most linearly with N, or no faster than the "
                          "database's floor for the same DDL (every gitmig command)",
                          "MISS" if worse else "PASS",
                          "; ".join(worse) if worse else
                          f"{len(gitmig_growth)} gitmig rows, none grows faster than N "
                          "or its floor"))
    return out


def growth_rows(bench: Bench, sizes: list[int]) -> list[tuple[str, str, int, int, float]]:
    """(item, tool, smaller N, larger N, time ratio) for consecutive sizes."""
    out = []
    keys = sorted({(m.item, m.tool) for m in bench.results if m.n is not None},
                  key=lambda k: (ITEM_ORDER.index(k[0]) if k[0] in ITEM_ORDER else 99, k[1]))
    ordered = sorted(sizes)
    for item, tool in keys:
        for a, b in zip(ordered, ordered[1:], strict=False):
            r = ratio(bench.get(item, tool, b), bench.get(item, tool, a))
            if r is not None:
                out.append((item, tool, a, b, r))
    return out


ITEM_ORDER = ["check", "hook, no python", "hook, no model", "hook, model", "migrate sqlite",
              "migrate postgres", "showmigrations", "conflicts", "migrate noop", "migrate one",
              "migrate noop postgres", "showmigrations postgres", "migrate mariadb"]
ITEM_WORDS = {
    "check": "models and migrations in sync (no change pending)",
    "hook, no python": "pre-commit hook, commit touching no Python file",
    "hook, no model": "pre-commit hook, commit touching Python but no model",
    "hook, model": "pre-commit hook, commit touching a model (with its migration)",
    "migrate sqlite": "apply all to an empty SQLite database",
    "migrate postgres": "apply all to an empty PostgreSQL database",
    "showmigrations": "list migrations",
    "conflicts": "conflicts over 50 branches",
    "migrate noop": "migrate with nothing to do, SQLite",
    "migrate one": "migrate with one pending, SQLite (all the others applied)",
    "migrate noop postgres": "migrate with nothing to do, PostgreSQL",
    "showmigrations postgres": "list migrations, PostgreSQL",
    "migrate mariadb": "apply all to an empty MariaDB database",
}
NO_CACHE = "gitmig (no cache)"  # the full path, with nothing recorded to replay
FULL_CHECK = "gitmig (no record)"  # the full comparison: models imported, migrations replayed
COMMANDS = {
    ("check", "gitmig"): "`gitmig makemigrations --check`, 2nd run onwards",
    ("check", "gitmig (1st run)"): "`gitmig makemigrations --check`, 1st run (no cache; "
                                   "the lock file's record answers)",
    ("check", FULL_CHECK): "`GITMIG_NO_CACHE=1 gitmig makemigrations --check` (the full "
                           "comparison, as after a model edit that needed no migration)",
    ("check", "django"): "`manage.py makemigrations --check --dry-run`",
    ("check", "alembic"): "`alembic check` (database at head)",
    ("hook, no python", "gitmig"): "`.git/hooks/pre-commit` (gitmig hooks)",
    ("hook, no model", "gitmig"): "`.git/hooks/pre-commit` (gitmig hooks)",
    ("hook, model", "gitmig"): "`.git/hooks/pre-commit` (gitmig hooks)",
    ("migrate sqlite", "gitmig"): "`gitmig migrate` (replays the SQL the warm-up run recorded)",
    ("migrate sqlite", NO_CACHE): "`GITMIG_NO_CACHE=1 gitmig migrate` (the full path)",
    ("migrate postgres", NO_CACHE): "`GITMIG_NO_CACHE=1 gitmig migrate` (the full path)",
    ("migrate sqlite", "django"): "`manage.py migrate`",
    ("migrate sqlite", "alembic"): "`alembic upgrade head`",
    ("migrate sqlite", "sqlite3 floor"): "the same DDL by `sqlite3`, one transaction",
    ("migrate postgres", "gitmig"): "`gitmig migrate` (replays the SQL the warm-up run recorded)",
    ("migrate postgres", "django"): "`manage.py migrate`",
    ("migrate postgres", "alembic"): "`alembic upgrade head`",
    ("migrate postgres", "psql floor"): "the same DDL by `psql`, one transaction",
    ("showmigrations", "gitmig"): "`gitmig showmigrations`",
    ("showmigrations", "django"): "`manage.py showmigrations`",
    ("showmigrations", "alembic history"): "`alembic history`",
    ("showmigrations", "alembic heads"): "`alembic heads`",
    ("conflicts", "gitmig"): "`gitmig conflicts --all-branches`",
    ("migrate noop", "gitmig"): "`gitmig migrate`",
    ("migrate noop", "django"): "`manage.py migrate`",
    ("migrate noop", "alembic"): "`alembic upgrade head`",
    ("migrate one", "gitmig"): "`gitmig migrate`",
    ("migrate one", "django"): "`manage.py migrate`",
    ("migrate one", "alembic"): "`alembic upgrade head`",
    ("migrate noop postgres", "gitmig"): "`gitmig migrate`",
    ("migrate noop postgres", "django"): "`manage.py migrate`",
    ("showmigrations postgres", "gitmig"): "`gitmig showmigrations`",
    ("showmigrations postgres", "django"): "`manage.py showmigrations`",
    ("migrate mariadb", "gitmig"): "`gitmig migrate`",
    ("migrate mariadb", "django"): "`manage.py migrate` (PyMySQL as MySQLdb)",
    ("migrate mariadb", "alembic"): "`alembic upgrade head`",
    ("migrate mariadb", "mariadb floor"): "gitmig's DDL by `mariadb`, one session",
}
PEERS = {  # what the gitmig row of an item is compared with
    "check": ("django", "alembic"),
    "hook, no python": (("check", "django"), ("baseline", "python -c pass")),
    "hook, no model": (("check", "django"), ("baseline", "python -c pass")),
    "hook, model": (("check", "django"), ("baseline", "python -c pass")),
    "migrate sqlite": ("django", "alembic", "sqlite3 floor"),
    "migrate postgres": ("django", "alembic", "psql floor"),
    "showmigrations": ("django", "alembic history"),
    "migrate noop": ("django", "alembic"),
    "migrate one": ("django", "alembic"),
    "migrate noop postgres": ("django",),
    "showmigrations postgres": ("django",),
    "migrate mariadb": ("django", "alembic", "mariadb floor"),
}


def fmt_s(m: Measurement | None) -> str:
    if m is None:
        return "—"
    if not m.ok:
        return f"_{m.status}_"
    assert m.median is not None
    return f"{m.median:.3f} s" if m.median < 10 else f"{m.median:.1f} s"


def fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r <= 1:
        return f"{r:.2f} ({1 / r:.1f}x faster)" if r > 0 else "—"
    return f"{r:.2f} ({r:.1f}x slower)"


def comparisons(bench: Bench, m: Measurement) -> str:
    """gitmig/peer ratios for a gitmig row."""
    if not m.tool.startswith("gitmig") or m.item not in PEERS or not m.ok:
        return ""
    parts = []
    for peer in PEERS[m.item]:
        item, tool = peer if isinstance(peer, tuple) else (m.item, peer)
        other = bench.get(item, tool, None if item == "baseline" else m.n)
        r = ratio(m, other)
        if r is not None:
            parts.append(f"vs {tool}: {fmt_ratio(r)}")
    return "; ".join(parts)


def results_table(bench: Bench, n: int) -> list[str]:
    rows = ["| what | tool | command | median | runs | peak memory | gitmig/peer |",
            "| --- | --- | --- | --- | --- | --- | --- |"]
    for item in ITEM_ORDER:
        ms = [m for m in bench.results if m.n == n and m.item == item]
        for m in ms:
            cmd = COMMANDS.get((m.item, m.tool), f"`{m.command}`")
            if m.note:
                cmd += f" ({m.note})"
            mem = f"{m.peak_kb / 1024:.0f} MiB" if m.peak_kb else "—"
            rows.append(f"| {ITEM_WORDS[item]} | {m.tool} | {cmd} | {fmt_s(m)} | "
                        f"{len(m.times) or '—'} | {mem} | {comparisons(bench, m)} |")
    return rows


def summary_table(bench: Bench, n: int) -> list[str]:
    """The few rows a reader of the README wants: gitmig, Django, Alembic, side by side."""
    g = bench.get
    rows = [f"| N={n} migrations | gitmig | Django 5.2 | Alembic | floor |",
            "| --- | --- | --- | --- | --- |"]
    spec = [
        ("in sync? (`makemigrations --check` / `check`)", ("check", "gitmig"),
         ("check", "django"), ("check", "alembic"), None),
        ("… gitmig's first run (no cache)", ("check", "gitmig (1st run)"), None, None, None),
        ("… the full comparison (no record, no cache)", ("check", FULL_CHECK), None, None,
         None),
        ("pre-commit hook, only README.md staged", ("hook, no python", "gitmig"), None, None,
         ("baseline", "python -c pass")),
        ("pre-commit hook, a non-model .py staged", ("hook, no model", "gitmig"), None, None,
         ("baseline", "python -c pass")),
        ("pre-commit hook, a model staged", ("hook, model", "gitmig"), None, None, None),
        ("migrate an empty SQLite database", ("migrate sqlite", "gitmig"),
         ("migrate sqlite", "django"), ("migrate sqlite", "alembic"),
         ("migrate sqlite", "sqlite3 floor")),
        ("… with no cache (`GITMIG_NO_CACHE=1`: the full path)", ("migrate sqlite", NO_CACHE),
         None, None, None),
        ("migrate an empty PostgreSQL database", ("migrate postgres", "gitmig"),
         ("migrate postgres", "django"), ("migrate postgres", "alembic"),
         ("migrate postgres", "psql floor")),
        ("… with no cache (`GITMIG_NO_CACHE=1`: the full path)", ("migrate postgres", NO_CACHE),
         None, None, None),
        ("showmigrations / history", ("showmigrations", "gitmig"),
         ("showmigrations", "django"), ("showmigrations", "alembic history"), None),
        ("migrate an empty MariaDB database", ("migrate mariadb", "gitmig"),
         ("migrate mariadb", "django"), ("migrate mariadb", "alembic"),
         ("migrate mariadb", "mariadb floor")),
        ("migrate with nothing to do, SQLite", ("migrate noop", "gitmig"),
         ("migrate noop", "django"), ("migrate noop", "alembic"), None),
        ("migrate with nothing to do, PostgreSQL", ("migrate noop postgres", "gitmig"),
         ("migrate noop postgres", "django"), None, None),
        ("migrate with one pending, SQLite", ("migrate one", "gitmig"),
         ("migrate one", "django"), ("migrate one", "alembic"), None),
        ("showmigrations, PostgreSQL", ("showmigrations postgres", "gitmig"),
         ("showmigrations postgres", "django"), None, None),
        ("conflicts --all-branches (50 branches)", ("conflicts", "gitmig"), None, None, None),
    ]
    for label, *cells in spec:
        out = []
        for cell in cells:
            if cell is None:
                out.append("")
                continue
            item, tool = cell
            m = g(item, tool, None if item == "baseline" else n)
            if m is None:
                out.append("—")
            elif not m.ok:
                out.append("n/a" if NOT_YET in m.status else "failed")
            else:
                text = fmt_s(m)
                if tool == "python -c pass":
                    text += " (python -c pass)"
                out.append(text)
        rows.append(f"| {label} | " + " | ".join(out) + " |")
    return rows


def versions(pg: Postgres | None, maria: deploy.MariaDB | None = None) -> list[str]:
    import importlib.metadata as md

    def v(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "gitmig"], cwd=REPO,
                               capture_output=True, text=True).stdout.strip()
        rev = f"{head}{' + uncommitted changes in gitmig/' if dirty else ''}"
    except OSError:
        rev = "unknown"
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import sqlite3

    sqlite_cli = shutil.which("sqlite3")
    cli = (subprocess.run([sqlite_cli, "--version"], capture_output=True, text=True)
           .stdout.split(" ")[0] if sqlite_cli else "not found")
    return [
        f"- Machine: {cpu}, {os.cpu_count()} cores, {mem} memory; "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({sys.executable})",
        f"- gitmig {v('gitmig')} at {rev}; SQLAlchemy {v('SQLAlchemy')}; "
        f"Alembic {v('alembic')}; Django {v('Django')}; psycopg {v('psycopg')}; "
        f"pygit2 {v('pygit2')}",
        f"- SQLite {sqlite3.sqlite_version} (Python's), sqlite3 CLI {cli}; "
        f"PostgreSQL {pg.version() if pg and not pg.error else 'not measured'}; "
        f"MariaDB {maria.version() if maria and not maria.error else 'not measured'}",
    ]


def write_results(path: Path, bench: Bench, sizes: list[int], targets: list[Target],
                  started: datetime.datetime, loads: tuple[tuple[float, ...], tuple[float, ...]],
                  quick: bool, runs: int, warmup: int, seed: int,
                  metas: dict[int, dict[str, Any]]) -> None:
    n = max(sizes)
    busy = max(loads[0][0], loads[1][0]) > 0.5 * (os.cpu_count() or 1)
    noise = ("Measured while other work ran on this machine (load average "
             f"{loads[0][0]:.1f} at the start, {loads[1][0]:.1f} at the end, "
             f"{os.cpu_count()} cores): the numbers are noisy; ratios within one run are "
             "more telling than the absolute times." if busy else
             f"The machine was quiet (load average {loads[0][0]:.1f} at the start, "
             f"{loads[1][0]:.1f} at the end).")
    lines = [
        "# Benchmark results",
        "",
        f"Written by `python bench/run.py{' --quick' if quick else ''}` on "
        f"{started:%Y-%m-%d %H:%M} UTC. How to run it, and what each row means: "
        "[bench/README.md](README.md).",
        "",
        "<!-- README quote: from here -->",
        "",
        f"gitmig beside Django 5.2 and Alembic on one generated schema history of {n} "
        "migrations (about 40 tables; create, add, alter, rename, index and drop "
        "operations), each tool's own migration files, medians of whole processes on "
        f"this machine ({os.cpu_count()} cores). {noise}",
        "",
        *summary_table(bench, n),
        "",
        "| target | result | |",
        "| --- | --- | --- |",
        *[f"| {t.text} | **{t.status}** | {t.detail} |" for t in targets],
        "",
        "<!-- README quote: to here -->",
        "",
        "## Machine and versions",
        "",
        *versions(bench.pg, bench.maria),
        f"- Load average at the start {', '.join(f'{x:.2f}' for x in loads[0])}; "
        f"at the end {', '.join(f'{x:.2f}' for x in loads[1])}",
        "",
        "## How it was measured",
        "",
        f"- {warmup} warm-up run{'s' if warmup != 1 else ''} then {runs} timed runs per row "
        "(3 for rows over 8 s); the median is shown. Each run is a whole process started "
        "from the bench; peak memory is that process's `ru_maxrss` from `os.wait4`, the "
        "largest over its runs.",
        "- gitmig/peer: the gitmig median divided by the peer's, so 0.25 means 4x faster.",
        "- Migrations from empty: each run gets a new SQLite file or a new PostgreSQL / "
        "MariaDB database, at the same path or name, created before the clock starts. "
        "gitmig's warm-up run (the full path) records the SQL it sent; the timed runs replay "
        "it (a test database built from the same migrations at every test run does the "
        "same). The `GITMIG_NO_CACHE=1` rows are the full path: a database at a new path, "
        "or changed migrations, costs that.",
        "- `migrate` with nothing to do: on the database the last from-empty run left at "
        "head. With one pending: before each run, a copy of a database migrated to the "
        "migration before the latest (gitmig and Django: `migrate shop NAME`; Alembic: "
        "`upgrade head`, `downgrade -1`).",
        "- MariaDB's floor is gitmig's own DDL (recorded once, less its history-table "
        "statements and reads) run by the `mariadb` client in one session: Alembic's "
        "upgrade stops on MariaDB (it drops an index a foreign key still needs). Django on "
        "MariaDB runs through PyMySQL standing in for mysqlclient.",
        "- The floor: the statements Alembic sent during `upgrade head` (recorded by its "
        "env.py on the warm-up run, less reads and `alembic_version` bookkeeping), run by "
        "`sqlite3` / `psql` in one transaction.",
        "- gitmig's 1st run: everything gitmig wrote since the projects were generated "
        "(its cache; databases and `__pycache__` kept) is removed before each run, and "
        "XDG_CACHE_HOME points into the project, so the run is gitmig's first after a "
        "pull.",
        "- The hook is the installed `.git/hooks/pre-commit`, run as git runs it, on three "
        "staged commits: README.md only; a new Python file that is no model; models.py "
        "with its new migration (after one `gitmig makemigrations --check` on that working "
        "tree, standing in for the `makemigrations` that wrote it).",
        f"- The history: bench/history.py, seed {seed}; for each N the same kind of "
        "history with about 40 tables at the end. How each tool's files are written: "
        "bench/generate.py (Django's migrations are made by Django's own autodetector and "
        "writer, per step, in one process rather than one `makemigrations` process per step; "
        "gitmig's by gitmig's own autodetector and writer, in one process; Alembic's are "
        "rendered by Alembic's autogenerate renderer with `render_as_batch=True`; renames are "
        "answered as a person would).",
        "",
    ]
    for size in sorted(sizes):
        meta = metas.get(size, {})
        hist = meta.get("history", {})
        ops = ", ".join(f"{k} {v}" for k, v in sorted(hist.items())
                        if not k.startswith("final_"))
        lines += [
            f"## N={size}",
            "",
            f"History: {ops}; at the end {hist.get('final_tables', '?')} tables, "
            f"{hist.get('final_columns', '?')} columns, {hist.get('final_indexes', '?')} "
            "indexes.",
            "",
            *results_table(bench, size),
            "",
        ]
    base = [m for m in bench.results if m.n is None]
    lines += ["## Baselines", "", "| command | median | peak memory |", "| --- | --- | --- |"]
    lines += [f"| `{m.tool}` | {fmt_s(m)} | {m.peak_kb / 1024:.0f} MiB |" for m in base]
    lines += ["", "## Growth with N", ""]
    picture = path.parent / "growth.png"
    why_not = growth.draw(bench.results, sizes, ITEM_ORDER, ITEM_WORDS, picture)
    lines += [f"![time against N, log-log, per command and tool]({picture.name})" if why_not
              is None else f"(No picture: {why_not}.)", ""]
    growth_list = growth_rows(bench, sizes)
    if growth_list:
        lines += ["Time at the larger N divided by time at the smaller; linear growth would be "
                  "the N ratio (a constant start-up cost keeps real commands below it). "
                  "Exponent: log(time ratio) / log(N ratio).", "",
                  "Marginal cost: the extra time per extra migration between the two sizes. "
                  "A longer history also ends with wider tables (more columns to copy in each "
                  "SQLite table rebuild), so migrating grows a little faster than N even for "
                  "the floor.", "",
                  "| what | tool | N | time ratio | exponent | marginal cost | at most linear |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for item, tool, small, big, r in growth_list:
            k = big / small
            exp = math.log(r) / math.log(k) if r > 0 else 0.0
            hi, lo = bench.get(item, tool, big), bench.get(item, tool, small)
            assert hi is not None and lo is not None and hi.median and lo.median
            marginal = (hi.median - lo.median) / (big - small) * 1000
            lines.append(f"| {item} | {tool} | {small} → {big} | {r:.2f}x | {exp:.2f} | "
                         f"{marginal:+.2f} ms | {'yes' if r <= k * 1.1 else '**no**'} |")
    else:
        lines.append("Only one N was measured.")
    lines += ["", "## Same schema at the end", ""]
    lines += [f"- {c}" for c in bench.schema_checks] or ["- not checked"]
    lines += ["", "Compared: tables, columns (type, nullability), primary keys, indexes by "
              "columns, foreign keys by columns and target; bookkeeping tables left out.", ""]
    from bench.fleet import kept_section  # bench/fleet.py's rows, measured on their own

    lines += kept_section(path)
    path.write_text("\n".join(lines))


# --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="gitmig beside Django and Alembic.")
    parser.add_argument("--quick", action="store_true", help="N=50 only, 2 runs: a smoke run")
    parser.add_argument("--sizes", default=None, help="comma-separated N (default 50,200,1000)")
    parser.add_argument("--runs", type=int, default=None, help="timed runs per row (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="warm-up runs per row")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=BENCH / ".work",
                        help="where the generated projects live (default bench/.work)")
    parser.add_argument("--regenerate", action="store_true", help="rewrite cached projects")
    parser.add_argument("--postgres-url", default=DEFAULT_PG,
                        help="server for the PostgreSQL rows (a database per run is created)")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--mariadb-url", default=os.environ.get("BENCH_MARIADB_URL",
                                                                deploy.DEFAULT_MARIADB),
                        help="server for the MariaDB rows (a database per run is created)")
    parser.add_argument("--no-mariadb", action="store_true")
    parser.add_argument("--out", type=Path, default=None,
                        help="results file (default bench/RESULTS.md; --quick: bench/.work/)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else (
        [50] if args.quick else [50, 200, 1000])
    runs = args.runs or (2 if args.quick else 5)
    out = args.out or (args.work / "RESULTS-quick.md" if args.quick else BENCH / "RESULTS.md")

    def log(text: str) -> None:
        print(text, flush=True)

    started = datetime.datetime.now(datetime.UTC)
    load_start = os.getloadavg()
    log(f"gitmig bench: N = {', '.join(map(str, sizes))}; {args.warmup} warm-up + {runs} runs; "
        f"load average {load_start[0]:.2f}")
    pg = None if args.no_postgres else Postgres(args.postgres_url)
    if pg is not None and pg.error:
        log(f"  {pg.error}: the PostgreSQL rows are skipped")
    maria = None if args.no_mariadb else deploy.MariaDB(args.mariadb_url)
    if maria is not None and maria.error:
        log(f"  {maria.error}: the MariaDB rows are skipped")
    bench = Bench(Timer(runs, args.warmup, log), pg, log, maria)
    bench.baselines()
    metas: dict[int, dict[str, Any]] = {}
    for n in sizes:
        projects = prepare(n, args.work, args.seed, args.regenerate, log)
        metas[n] = projects.meta
        log(f"N={n}:")
        bench.run_n(projects)
    targets = evaluate(bench, sizes)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_results(out, bench, sizes, targets, started, (load_start, os.getloadavg()),
                  args.quick, runs, args.warmup, args.seed, metas)
    growth = growth_rows(bench, sizes)
    if growth:
        log("\nGrowth with N (time ratio for the N ratio; linear would equal it):")
        for item, tool, a, b, r in growth:
            log(f"  {item:16} {tool:18} N {a:>4} -> {b:<5} {r:5.2f}x for {b / a:.0f}x")
    log("")
    for t in targets:
        log(f"  {t.status:4}  {t.text}: {t.detail}")
    log(f"\nWrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
