"""`migrate` from an empty PostgreSQL database: gitmig's warm path (gitmig.actions.warmpg,
its entry recorded), gitmig's full path (that entry removed before each run, every other
cache kept: it records again), Django, Alembic and two psql floors (Alembic's recorded DDL
as bench/run.py builds it; gitmig's recorded DDL), interleaved, each on a database made
empty before its run. Whole-process CPU (user+sys, os.wait4) and wall time; medians
(bench/wip/SQLPATH.md, "PostgreSQL", records the numbers).

    python bench/wip/pgpath_measure.py [N] [--runs R] [--url postgresql://postgres@127.0.0.1:5432]
    (after bench/generate.py N)
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(HERE.parent))
from bench.run import ddl_script  # noqa: E402

BIN = Path(sys.executable).parent


def measured(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds of the whole process: user + system, from os.wait4; wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    assert proc.stderr is not None
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {err.decode()[-2000:]}")
    return usage.ru_utime + usage.ru_stime, wall


def admin(url: str, sql: str) -> None:
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql, f"{url}/postgres"],
                   check=True, capture_output=True)


def gitmig_floor(cache: Path, out: Path) -> int:
    """gitmig's own recorded statements (its sqlpath-pgempty entry), one transaction."""
    [entry] = cache.glob("sqlpath-pgempty-*.pickle")
    value = pickle.loads(entry.read_bytes())["value"]
    statements = [q.strip() for s in value["steps"] for q in s["statements"]]
    out.write_text("BEGIN;\n" + ";\n".join(statements) + ";\nCOMMIT;\n")
    return len(statements)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=200)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--url", default="postgresql://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    root = HERE / ".work" / f"gen-{args.n}"
    work = Path(tempfile.mkdtemp(prefix="pgpath-bench-"))
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITMIG_", "BENCH_")) and k != "PYTHONDONTWRITEBYTECODE"}
    plain, sa = args.url, args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    db = {name: f"pgpath_bench_{name}_{args.n}" for name in
          ("warm", "full", "django", "alembic", "floor", "gfloor")}
    psql = shutil.which("psql") or "psql"
    variants: dict[str, tuple[list[str], Path, dict[str, str]]] = {}
    for name in ("warm", "full"):
        variants[f"gitmig {name}"] = (
            [str(BIN / "gitmig"), "migrate"], root / "gitmig",
            dict(base, GITMIG_DATABASE_URL=f"{sa}/{db[name]}",
                 GITMIG_CACHE_DIR=str(work / f"cache-{name}")))
    variants["django"] = ([sys.executable, "manage.py", "migrate"], root / "django",
                          dict(base, BENCH_DATABASE_URL=f"{plain}/{db['django']}"))
    variants["alembic"] = ([str(BIN / "alembic"), "upgrade", "head"], root / "alembic",
                           dict(base, BENCH_DATABASE_URL=f"{sa}/{db['alembic']}"))
    dbs = {"gitmig warm": db["warm"], "gitmig full": db["full"], "django": db["django"],
           "alembic": db["alembic"], "psql floor (alembic's DDL)": db["floor"],
           "psql floor (gitmig's DDL)": db["gfloor"]}
    try:
        # warm-up: caches filled, the warm entry recorded, Alembic's statements recorded
        for name, (cmd, cwd, env) in variants.items():
            admin(plain, f'DROP DATABASE IF EXISTS "{dbs[name]}" WITH (FORCE)')
            admin(plain, f'CREATE DATABASE "{dbs[name]}"')
            record = str(work / "pg-statements.sql")
            extra = {"BENCH_RECORD_SQL": record} if name == "alembic" else {}
            measured(cmd, cwd, dict(env, **extra))
        count = ddl_script(work / "pg-statements.sql", work / "pg-ddl.sql")
        gcount = gitmig_floor(work / "cache-warm", work / "gitmig-ddl.sql")
        print(f"psql floors: {count} statements (Alembic's), {gcount} (gitmig's)")
        for label, script, key in (("psql floor (alembic's DDL)", "pg-ddl.sql", "floor"),
                                   ("psql floor (gitmig's DDL)", "gitmig-ddl.sql", "gfloor")):
            variants[label] = ([psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f",
                                str(work / script), f"{plain}/{db[key]}"], work, dict(base))
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
        for _ in range(args.runs):
            for name, (cmd, cwd, env) in variants.items():
                admin(plain, f'DROP DATABASE IF EXISTS "{dbs[name]}" WITH (FORCE)')
                admin(plain, f'CREATE DATABASE "{dbs[name]}"')
                if name == "gitmig full":
                    for f in Path(env["GITMIG_CACHE_DIR"]).glob("sqlpath-pgempty-*"):
                        f.unlink()
                times[name].append(measured(cmd, cwd, env))
        floor = statistics.median(w for _, w in times["psql floor (alembic's DDL)"])
        print(f"N={args.n}, {args.runs} runs interleaved; medians")
        print("| tool | CPU (user+sys) | wall | wall / psql floor (Alembic's DDL) |")
        print("| --- | --- | --- | --- |")
        for name, values in times.items():
            cpu = statistics.median(c for c, _ in values)
            wall = statistics.median(w for _, w in values)
            print(f"| {name} | {cpu:.3f} s | {wall:.3f} s | {wall / floor:.2f}x |")
        med = {k: (statistics.median(c for c, _ in v), statistics.median(w for _, w in v))
               for k, v in times.items()}
        w = med["gitmig warm"]
        for peer in ("django", "alembic"):
            print(f"gitmig warm / {peer}: CPU {w[0] / med[peer][0]:.2f}x, "
                  f"wall {w[1] / med[peer][1]:.2f}x")
    finally:
        for name in dbs.values():
            admin(plain, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
