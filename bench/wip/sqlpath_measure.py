"""CPU medians of `migrate` with one pending migration: gitmig's warm SQL path (entries
recorded), gitmig's full path (the sqlpath entries removed before each run, every other
cache kept) and Django, interleaved (bench/wip/SQLPATH.md records the numbers).

    python bench/wip/sqlpath_measure.py [N] [--runs R]   (after bench/generate.py N)
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


def cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    """User + system CPU seconds of the whole process."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{cmd} failed: {out.decode()} {err.decode()}")
    return usage.ru_utime + usage.ru_stime


def second_last(folder: Path) -> str:
    return sorted(f.stem for f in folder.glob("[0-9][0-9][0-9][0-9]_*.py"))[-2]


def restore(template: Path, db: Path) -> None:
    for f in db.parent.glob(db.name + "*"):
        f.unlink()
    shutil.copy(template, db)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int, nargs="?", default=200)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    root = HERE / ".work" / f"gen-{args.n}"
    work = Path(tempfile.mkdtemp(prefix="sqlpath-bench-"))
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITMIG_", "BENCH_")) and k != "PYTHONDONTWRITEBYTECODE"}
    variants = {}
    for name in ("warm", "full"):
        db = work / f"{name}.sqlite3"
        env = dict(base, GITMIG_DATABASE_URL=f"sqlite:///{db}",
                   GITMIG_CACHE_DIR=str(work / f"cache-{name}"))
        variants[name] = (db, env)
    gitmig = [str(BIN / "gitmig"), "migrate"]
    django = [sys.executable, "manage.py", "migrate"]
    dj_db = work / "django.sqlite3"
    dj_env = dict(base, BENCH_DATABASE_URL=f"sqlite:///{dj_db}")
    behind = second_last(root / "gitmig" / "shop" / "migrations")
    templates = {}
    for name, (db, env) in variants.items():
        cpu([*gitmig, "shop", behind], root / "gitmig", env)
        templates[name] = work / f"{name}-behind.sqlite3"
        shutil.copy(db, templates[name])
        cpu(gitmig, root / "gitmig", env)  # fills the caches (warm: records the SQL)
    cpu([*django, "shop", second_last(root / "django" / "shop" / "migrations")],
        root / "django", dj_env)
    dj_template = work / "django-behind.sqlite3"
    shutil.copy(dj_db, dj_template)
    times: dict[str, list[float]] = {"warm": [], "full": [], "django": []}
    for _ in range(args.runs):
        for name, (db, env) in variants.items():
            restore(templates[name], db)
            if name == "full":
                for f in Path(env["GITMIG_CACHE_DIR"]).glob("sqlpath-*"):
                    f.unlink()
            times[name].append(cpu(gitmig, root / "gitmig", env))
        restore(dj_template, dj_db)
        times["django"].append(cpu(django, root / "django", dj_env))
    medians = {k: statistics.median(v) for k, v in times.items()}
    for k, v in medians.items():
        print(f"{k:7} median {v:.3f} s  (runs: {', '.join(f'{t:.3f}' for t in times[k])})")
    print(f"warm/django {medians['warm'] / medians['django']:.2f}x; "
          f"full/django {medians['full'] / medians['django']:.2f}x")
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
