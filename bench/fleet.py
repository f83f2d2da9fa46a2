"""Fleets: one 50-migration history on 100 tenants, by gitmig and by a shell loop of Alembic.

Rows: 100 tenant schemas in one PostgreSQL database and 100 SQLite files, each migrated
from empty to the last migration by `gitmig migrate --fleet NAME --jobs 1` and `--jobs 4`,
and by what teams write without gitmig: a shell loop running `alembic upgrade head` once
per tenant (for a schema, the URL's `options=-csearch_path=...` points Alembic at it).
The projects are bench/generate.py's (gitmig's and Alembic's, same history). Every
tenant is emptied before each timed run, and checked after it (50 history rows).

    python bench/fleet.py [--tenants 100] [--migrations 50] [--runs 1]

writes the `## Fleets` section of bench/RESULTS.md (between its markers; the rest of the
file is bench/run.py's, which keeps this section when it rewrites the file).
"""

from __future__ import annotations

import argparse
import datetime
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from bench import generate as gen  # noqa: E402

BEGIN, END = "<!-- fleets: written by bench/fleet.py -->", "<!-- /fleets -->"
TARGET = 1.6  # --jobs 4 at least this much faster than --jobs 1 on 2 cores


def kept_section(path: Path) -> list[str]:
    """The Fleets section of an existing RESULTS.md, for bench/run.py to keep."""
    try:
        text = path.read_text()
    except OSError:
        return []
    if BEGIN not in text or END not in text:
        return []
    return ["", text[text.index(BEGIN):text.index(END) + len(END)], ""]


def write_section(path: Path, body: str) -> None:
    text = path.read_text() if path.exists() else "# Benchmark results\n"
    block = f"{BEGIN}\n{body.rstrip()}\n{END}"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def sh(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    r = subprocess.run(args, cwd=cwd, env={**os.environ, **(env or {})},
                       capture_output=True, text=True)
    took = time.perf_counter() - started
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])}... failed:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return took


class PG:
    def __init__(self, server: str, tenants: int) -> None:
        import sqlalchemy as sa

        self.sa = sa
        self.name = f"gmbench_fleet_{uuid.uuid4().hex[:8]}"
        self.admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT",
                                      poolclass=sa.pool.NullPool)
        with self.admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {self.name}"))
        self.url = f"{server}/{self.name}"
        self.schemas = [f"tenant_{i:03d}" for i in range(tenants)]

    def reset(self, create: bool) -> None:
        sa = self.sa
        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT",
                                  poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            for s in self.schemas:
                conn.execute(sa.text(f"DROP SCHEMA IF EXISTS {s} CASCADE"))
                if create:
                    conn.execute(sa.text(f"CREATE SCHEMA {s}"))
        engine.dispose()

    def rows(self, table: str) -> list[int]:
        sa = self.sa
        engine = sa.create_engine(self.url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            out = [conn.scalar(sa.text(f"SELECT count(*) FROM {s}.{table}"))
                   for s in self.schemas]
        engine.dispose()
        return out

    def drop(self) -> None:
        with self.admin.connect() as conn:
            conn.execute(self.sa.text(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)"))
        self.admin.dispose()


def file_rows(paths: list[Path], table: str) -> list[int]:
    out = []
    for p in paths:
        with sqlite3.connect(p) as conn:
            out.append(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--migrations", type=int, default=50)
    parser.add_argument("--runs", type=int, default=1, help="timed runs per row (median)")
    parser.add_argument("--postgres", default=os.environ.get(
        "BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--out", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args(argv)

    work = BENCH / ".work" / f"fleet-{args.migrations}"
    if not (work / "meta.json").exists():
        gen.generate(args.migrations, work, tools=("gitmig", "alembic"))
    project, alembic = work / "gitmig", work / "alembic"
    files_dir = work / "tenants"
    files = [files_dir / f"tenant_{i:03d}.db" for i in range(args.tenants)]
    bindir = Path(sys.executable).parent
    gitmig, alembic_bin = str(bindir / "gitmig"), str(bindir / "alembic")
    load_before = os.getloadavg()
    pg = None if args.no_postgres else PG(args.postgres, args.tenants)
    fleets = ('\n[tool.gitmig.fleets.files]\ndatabases_file = "tenants.txt"\n')
    if pg is not None:
        fleets += (f'\n[tool.gitmig.fleets.schemas]\nurl = "{pg.url}"\n'
                   f"schemas = {pg.schemas!r}\n".replace("'", '"'))
    base = gen.GITMIG_PYPROJECT
    (project / "pyproject.toml").write_text(base + fleets)
    (project / "tenants.txt").write_text("".join(f"sqlite:///{f}\n" for f in files))

    def reset_files() -> None:
        shutil.rmtree(files_dir, ignore_errors=True)
        files_dir.mkdir(parents=True)

    rows: list[tuple[str, str, list[float]]] = []
    try:
        kinds: list[tuple[str, Any]] = [("SQLite files", None)]
        if pg is not None:
            kinds.append(("PostgreSQL schemas", pg))
        for kind, db in kinds:
            fleet = "schemas" if db is not None else "files"
            for label, command in (("gitmig --jobs 1", [gitmig, "migrate", "--fleet", fleet,
                                                         "--jobs", "1"]),
                                   ("gitmig --jobs 4", [gitmig, "migrate", "--fleet", fleet,
                                                         "--jobs", "4"])):
                times = []
                for _ in range(args.runs):
                    db.reset(False) if db is not None else reset_files()
                    times.append(sh(command, project))
                    counts = (db.rows("gitmig_migrations") if db is not None
                              else file_rows(files, "gitmig_migrations"))
                    assert set(counts) == {args.migrations}, counts
                rows.append((kind, label, times))
                print(kind, label, times, flush=True)
            times = []
            for _ in range(args.runs):
                if db is not None:
                    db.reset(True)
                    # %% for the ini file Alembic puts the URL in
                    urls = [f"{pg.url}?options=-csearch_path%%3D{s}" for s in pg.schemas]
                else:
                    reset_files()
                    urls = [f"sqlite:///{f}" for f in files]
                loop = ("for url in " + " ".join(f"'{u}'" for u in urls) + "; do "
                        f"BENCH_DATABASE_URL=\"$url\" {alembic_bin} upgrade head || exit 1; done")
                times.append(sh(["bash", "-c", loop], alembic))
                counts = (db.rows("alembic_version") if db is not None
                          else file_rows(files, "alembic_version"))
                assert set(counts) == {1}, counts
            rows.append((kind, "shell loop: alembic upgrade head per tenant", times))
            print(kind, "alembic loop", times, flush=True)
    finally:
        if pg is not None:
            pg.drop()
    load_after = os.getloadavg()
    write_section(args.out, report(rows, args, load_before, load_after))
    print(f"wrote the Fleets section of {args.out}")
    return 0


def report(rows: list[tuple[str, str, list[float]]], args: Any,
           before: tuple[float, ...], after: tuple[float, ...]) -> str:
    med = {(k, label): statistics.median(t) for k, label, t in rows}
    lines = [
        "## Fleets",
        "",
        f"`python bench/fleet.py`: {args.tenants} tenants, each migrated from empty through "
        f"the same {args.migrations} migrations (bench/generate.py's history), on "
        f"{datetime.date.today().isoformat()}; {args.runs} timed run(s) per row, median; "
        f"load average {before[0]:.2f} at the start, {after[0]:.2f} at the end, on "
        f"{os.cpu_count()} cores. Every tenant is emptied before each run and checked after "
        f"it ({args.migrations} history rows each).",
        "",
        "| tenants | how | seconds | per tenant | vs gitmig --jobs 1 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kind, label, _ in rows:
        t = med[(kind, label)]
        one = med[(kind, "gitmig --jobs 1")]
        lines.append(f"| {kind} | {label} | {t:.1f} | {t / args.tenants * 1000:.0f} ms | "
                     f"{one / t:.2f}x |")
    lines += ["", f"Target: `--jobs 4` at least {TARGET}x faster than `--jobs 1` on this "
              "2-core machine. Most of a tenant's time is waiting for commits (SQLite's "
              "fsyncs, PostgreSQL's round trips and WAL), which parallel runs overlap; on a "
              "busy shared machine more processes also win a larger share of the CPU from "
              "other work, so read the ratio with the load average above."]
    for kind in dict.fromkeys(k for k, _, _ in rows):
        speedup = med[(kind, "gitmig --jobs 1")] / med[(kind, "gitmig --jobs 4")]
        verdict = "PASS" if speedup >= TARGET else "MISS"
        lines.append(f"- {kind}: {speedup:.2f}x, {verdict}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
