"""CPU medians of `migrate` from an empty SQLite file (issue 14, h/emptysql): gitmig's warm
path (the run from empty recorded: gitmig.actions.warmempty), gitmig's full path (every
cache warm but the sqlpath entries, removed before each run, so each run records again),
Django, Alembic and the sqlite3 floor (Alembic's DDL by the sqlite3 CLI in one
transaction, as bench/run.py makes it), interleaved, a new file each run.

    python bench/wip/empty_measure.py [N] [--runs R] [--tools warm,full,django,...]
    (after bench/generate.py N; bench/.work/gen-N)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))

from run import ddl_script  # noqa: E402  (bench/run.py)


def cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """User + system CPU seconds of the whole process (os.wait4); output to files."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            err.seek(0)
            raise SystemExit(f"{cmd} failed: {out.read().decode()} {err.read().decode()}")
    return usage.ru_utime + usage.ru_stime


def fresh(db: Path) -> None:
    for f in db.parent.glob(db.name + "*"):
        f.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=200)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tools", default="warm,full,django,alembic,floor")
    args = parser.parse_args()
    tools = args.tools.split(",")
    root = HERE / ".work" / f"gen-{args.n}"
    work = Path(tempfile.mkdtemp(prefix="empty-bench-"))
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITMIG_", "BENCH_")) and k != "PYTHONDONTWRITEBYTECODE"}
    runs: dict[str, tuple[list[str], Path, dict[str, str], Path]] = {}
    for name in ("warm", "full"):
        db = work / f"{name}.sqlite3"
        env = dict(base, GITMIG_DATABASE_URL=f"sqlite:///{db}",
                   GITMIG_CACHE_DIR=str(work / f"cache-{name}"))
        runs[name] = ([str(BIN / "gitmig"), "migrate"], root / "gitmig", env, db)
    dj = work / "django.sqlite3"
    runs["django"] = ([sys.executable, "manage.py", "migrate"], root / "django",
                      dict(base, BENCH_DATABASE_URL=f"sqlite:///{dj}"), dj)
    al = work / "alembic.sqlite3"
    runs["alembic"] = ([str(BIN / "alembic"), "upgrade", "head"], root / "alembic",
                       dict(base, BENCH_DATABASE_URL=f"sqlite:///{al}"), al)
    recorded, script, floor = work / "statements.sql", work / "ddl.sql", work / "floor.sqlite3"
    cpu(runs["alembic"][0], runs["alembic"][1],
         dict(runs["alembic"][2], BENCH_RECORD_SQL=str(recorded)))
    fresh(al)
    print(f"floor: {ddl_script(recorded, script)} statements", flush=True)
    runs["floor"] = ([shutil.which("sqlite3") or "sqlite3", str(floor), f".read {script}"],
                     work, dict(base), floor)
    runs = {k: v for k, v in runs.items() if k in tools}
    for name, (cmd, cwd, env, db) in runs.items():  # warm-up: caches, SQL recorded
        fresh(db)
        print(f"warm-up {name} {cpu(cmd, cwd, env):.3f}", flush=True)
    times: dict[str, list[float]] = {k: [] for k in runs}
    for _ in range(args.runs):
        for name, (cmd, cwd, env, db) in runs.items():
            fresh(db)
            if name == "full":
                for f in Path(env["GITMIG_CACHE_DIR"]).glob("sqlpath-*"):
                    f.unlink()
            times[name].append(cpu(cmd, cwd, env))
        print("  ".join(f"{k} {v[-1]:.3f}" for k, v in times.items()), flush=True)
    medians = {k: statistics.median(v) for k, v in times.items()}
    for k, v in medians.items():
        print(f"{k:8} median {v:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times[k])})")
    for k in ("warm", "full"):
        if k in medians:
            parts = [f"{k}/{o} {medians[k] / medians[o]:.2f}x"
                     for o in ("floor", "django", "alembic") if o in medians]
            print(f"{k}: " + "; ".join(parts))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
