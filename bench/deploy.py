"""The everyday deploy rows: `migrate` with nothing to do, `migrate` with one pending
migration, and migrate-from-empty on MariaDB beside its floor.

Kept apart from run.py, which holds the timer and the report; these functions add their
Measurements to the Bench they are given.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bench.run import Bench, Projects

DEFAULT_MARIADB = "mysql+pymysql://root@127.0.0.1:3306"


def _run() -> Any:
    from bench import run

    return run


def second_last(folder: Path) -> str:
    """The name of the migration before the latest one (numbered files, name order)."""
    names = sorted(f.stem for f in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return names[-2]


def copy_db(template: Path, db: Path) -> Callable[[], None]:
    """Before each run: the database as the template has it (one migration behind)."""
    def setup() -> None:
        for f in db.parent.glob(db.name + "*"):
            f.unlink()
        shutil.copy(template, db)
    return setup


def migrate_sqlite_deploy(bench: Bench, p: Projects, has_django: bool) -> None:
    """`migrate` at head (the databases migrate_sqlite left), then one migration behind."""
    run = _run()
    n, t = p.n, bench.timer
    gitmig = [str(run.BIN / "gitmig"), "migrate"]
    django = [run.PYTHON, "manage.py", "migrate"]
    alembic = [str(run.BIN / "alembic"), "upgrade", "head"]
    rows = [("gitmig", gitmig, p.gitmig), ("alembic", alembic, p.alembic)]
    if has_django:
        rows.insert(1, ("django", django, p.django))
    for tool, cmd, cwd in rows:
        if not (cwd / "db.sqlite3").exists():
            bench.add(run.skipped("migrate noop", tool, n, "no database at head", bench.log))
            continue
        bench.add(t.measure(run.Measurement("migrate noop", tool, n), cmd, cwd))
    floor = p.root / "floor"
    floor.mkdir(exist_ok=True)
    behind: dict[str, tuple[list[list[str]], dict[str, str]]] = {}
    tpl = {tool: floor / f"behind-{tool}.sqlite3" for tool in ("gitmig", "django", "alembic")}
    url = {tool: run.sqlite_url(path) for tool, path in tpl.items()}
    behind["gitmig"] = ([gitmig[:1] + ["migrate", "shop",
                                       second_last(p.gitmig / "shop" / "migrations")]],
                        {"GITMIG_DATABASE_URL": url["gitmig"]})
    if has_django:
        behind["django"] = ([django[:2] + ["migrate", "shop",
                                           second_last(p.django / "shop" / "migrations")]],
                            {"BENCH_DATABASE_URL": url["django"]})
    behind["alembic"] = ([alembic, alembic[:1] + ["downgrade", "-1"]],
                         {"BENCH_DATABASE_URL": url["alembic"]})
    cmds = {"gitmig": gitmig, "django": django, "alembic": alembic}
    cwds = {"gitmig": p.gitmig, "django": p.django, "alembic": p.alembic}
    for tool, (steps, env) in behind.items():
        run.remove_db(tpl[tool])()
        why = ""
        for step in steps:
            done = run.run_once(step, cwds[tool], run.clean_env(env))
            if done.code != 0:
                why = f"could not put a database one migration behind: {run.tail(done.output)}"
                break
        if why:
            bench.add(run.skipped("migrate one", tool, n, why, bench.log))
            continue
        db = cwds[tool] / "db.sqlite3"
        m = bench.add(t.measure(run.Measurement("migrate one", tool, n), cmds[tool], cwds[tool],
                                setup=copy_db(tpl[tool], db)))
        m.note = "one migration to apply"
        run.remove_db(tpl[tool])()


class MariaDB:
    """A MariaDB server for the bench: a fresh database per run, dropped after."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.error: str | None = None
        try:
            self._admin("SELECT 1")
        except Exception as exc:  # no server, no driver: say so in the table
            self.error = f"MariaDB not reachable at {self.url}: {type(exc).__name__}"

    def _admin(self, sql: str) -> list[Any]:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as conn:
                result = conn.exec_driver_sql(sql)
                return list(result.fetchall()) if result.returns_rows else []
        finally:
            engine.dispose()

    def sa_url(self, db: str) -> str:
        return f"{self.url}/{db}"

    def cli(self, db: str) -> list[str]:
        """The mariadb client's arguments for this server and database."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.url.replace("+pymysql", ""))
        args = [f"--host={parts.hostname or '127.0.0.1'}", f"--port={parts.port or 3306}",
                f"--user={parts.username or 'root'}"]
        if parts.password:
            args.append(f"--password={parts.password}")
        return [*args, db]

    def fresh(self, db: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS `{db}`")
        self._admin(f"CREATE DATABASE `{db}`")

    def drop(self, db: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS `{db}`")

    def version(self) -> str:
        try:
            return str(self._admin("SELECT VERSION()")[0][0])
        except Exception:
            return "unknown"


def migrate_mariadb(bench: Bench, p: Projects, maria: MariaDB | None, has_django: bool) -> None:
    """Migrate an empty MariaDB database: gitmig, Django, Alembic, and the mariadb floor
    (gitmig's recorded DDL run by the `mariadb` client in one session: Alembic's upgrade
    cannot finish on MariaDB, which refuses to drop an index a foreign key uses)."""
    from bench import schemas

    run = _run()
    n, t = p.n, bench.timer
    item = "migrate mariadb"
    tools = ["gitmig", "django", "alembic", "mariadb floor"]
    if maria is None or maria.error:
        for tool in tools:
            bench.add(run.skipped(item, tool, n, maria.error if maria else "--no-mariadb",
                                  bench.log))
        return
    found: dict[str, Any] = {}

    def fresh(db: str) -> Callable[[], None]:
        return lambda: maria.fresh(db)

    def describe(tool: str, db: str) -> Callable[[], None]:
        return lambda: found.__setitem__(tool, schemas.reflect(maria.sa_url(db)))

    dbs = {tool: f"gitmig_bench_{re.sub(r'[^a-z]', '', tool)}_{n}" for tool in tools}
    try:
        db = dbs["gitmig"]
        recorded = p.root / "floor" / "mariadb-statements.sql"
        recorded.parent.mkdir(exist_ok=True)
        recorded.unlink(missing_ok=True)
        env = {"GITMIG_DATABASE_URL": maria.sa_url(db)}
        maria.fresh(db)  # gitmig's statements, recorded once: the floor runs them
        run.run_once([run.PYTHON, str(Path(__file__).parent / "record.py"), str(recorded), "--",
                      "migrate"], p.gitmig, run.clean_env(env))
        bench.add(t.measure(run.Measurement(item, "gitmig", n), [str(run.BIN / "gitmig"),
                            "migrate"], p.gitmig, env=env,
                            setup=fresh(db), after_first=describe("gitmig", db)))
        if has_django:
            db = dbs["django"]
            bench.add(t.measure(run.Measurement(item, "django", n),
                                [run.PYTHON, "manage.py", "migrate"], p.django,
                                env={"BENCH_DATABASE_URL": maria.sa_url(db)}, setup=fresh(db),
                                after_first=describe("django", db)))
        db = dbs["alembic"]
        bench.add(t.measure(run.Measurement(item, "alembic", n),
                            [str(run.BIN / "alembic"), "upgrade", "head"], p.alembic,
                            env={"BENCH_DATABASE_URL": maria.sa_url(db)}, setup=fresh(db),
                            after_first=describe("alembic", db)))
        script = p.root / "floor" / "mariadb-ddl.sql"
        count = run.ddl_script(recorded, script, bookkeeping="gitmig_migrations")
        client = shutil.which("mariadb") or shutil.which("mysql")
        if client and count:
            db = dbs["mariadb floor"]
            m = t.measure(run.Measurement(item, "mariadb floor", n),
                          [client, *maria.cli(db)[:-1], "-e", f"source {script}", db],
                          p.root / "floor", setup=fresh(db),
                          after_first=describe("mariadb floor", db))
            m.note = f"{count} statements recorded from gitmig migrate"
            bench.add(m)
        else:
            why = "mariadb client not found" if not client else "no DDL recorded"
            bench.add(run.skipped(item, "mariadb floor", n, why, bench.log))
    finally:
        for db in dbs.values():
            maria.drop(db)
    bench.check_schemas(n, "MariaDB", found, types=True)


def postgres_at_head(bench: Bench, p: Projects, url: str, django_url: str,
                     has_django: bool) -> None:
    """On the PostgreSQL databases migrate_postgres left at head: showmigrations and
    `migrate` with nothing to do, gitmig beside Django."""
    run = _run()
    n, t = p.n, bench.timer
    gitmig_env = {"GITMIG_DATABASE_URL": url}
    bench.add(t.measure(run.Measurement("showmigrations postgres", "gitmig", n),
                        [str(run.BIN / "gitmig"), "showmigrations"], p.gitmig, env=gitmig_env))
    bench.add(t.measure(run.Measurement("migrate noop postgres", "gitmig", n),
                        [str(run.BIN / "gitmig"), "migrate"], p.gitmig, env=gitmig_env))
    if has_django:
        dj_env = {"BENCH_DATABASE_URL": django_url}
        bench.add(t.measure(run.Measurement("showmigrations postgres", "django", n),
                            [run.PYTHON, "manage.py", "showmigrations"], p.django, env=dj_env))
        bench.add(t.measure(run.Measurement("migrate noop postgres", "django", n),
                            [run.PYTHON, "manage.py", "migrate"], p.django, env=dj_env))
