"""CPU time of the everyday read-only commands on PostgreSQL, gitmig beside Django.

`migrate` with nothing to do and `showmigrations`, at N=200 (bench/.work/gen-200, made by
`python bench/generate.py 200`), each on its own database migrated to the head, run
interleaved (gitmig, Django, gitmig, Django...) so that the load of the shared machine
falls on both alike. Each number is the user + system CPU time of the whole process
(os.wait4), the median of the runs after one warm-up. Extra gitmig variants (another
checkout, through PYTHONPATH) can be given as NAME=PATH to compare them in the same run.

    python bench/wip/pg_everyday_measure.py [--runs 9] [--n 200] [NAME=SRC ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def admin(sql: str) -> None:
    engine = sa.create_engine(SERVER.replace("postgresql://", "postgresql+psycopg://") +
                              "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    """(user + system seconds, exit code, output) of one whole process."""
    out = Path(f"/tmp/pgmeasure-{os.getpid()}.out")
    with out.open("wb") as f:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
    text = out.read_text(errors="replace")
    out.unlink()
    return usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status), text


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("variants", nargs="*", help="NAME=SRC: gitmig from SRC (PYTHONPATH)")
    args = parser.parse_args()
    root = HERE / ".work" / f"gen-{args.n}"
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("GITMIG_", "BENCH_", "DJANGO_"))
            and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    sa_url = SERVER.replace("postgresql://", "postgresql+psycopg://")
    variants: dict[str, dict[str, str]] = {"gitmig": {}}
    for spec in args.variants:
        name, _, src = spec.partition("=")
        variants[name] = {"PYTHONPATH": src}
    tools: dict[str, tuple[list[list[str]], Path, dict[str, str]]] = {}
    for name, extra in variants.items():
        db = f"bench_everyday_{name}"
        admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        admin(f'CREATE DATABASE "{db}"')
        cache = Path(f"/tmp/pgmeasure-cache-{name}")
        env = {**base, **extra, "GITMIG_DATABASE_URL": f"{sa_url}/{db}",
               "GITMIG_CACHE_DIR": str(cache)}
        exe = [sys.executable, "-m", "gitmig"] if extra else [str(BIN / "gitmig")]
        tools[name] = ([[*exe, "migrate"], [*exe, "showmigrations"]], root / "gitmig", env)
    admin('DROP DATABASE IF EXISTS "bench_everyday_django" WITH (FORCE)')
    admin('CREATE DATABASE "bench_everyday_django"')
    denv = {**base, "BENCH_DATABASE_URL": f"{SERVER}/bench_everyday_django"}
    manage = [sys.executable, "manage.py"]
    tools["django"] = ([[*manage, "migrate"], [*manage, "showmigrations"]], root / "django",
                       denv)
    for name, (cmds, cwd, env) in tools.items():  # to the head, then one warm-up each
        for cmd in [cmds[0], *cmds]:
            seconds, code, text = cpu(cmd, cwd, env)
            if code != 0:
                sys.exit(f"{name}: {' '.join(cmd)} failed: {text[-500:]}")
        print(f"{name}: migrate says {text.splitlines()[0] if text else ''!r}", flush=True)
    times: dict[tuple[str, int], list[float]] = {}
    for _ in range(args.runs):
        for which in (0, 1):
            for name, (cmds, cwd, env) in tools.items():
                seconds, code, text = cpu(cmds[which], cwd, env)
                assert code == 0, text
                times.setdefault((name, which), []).append(seconds)
    load = os.getloadavg()[0]
    print(f"\nN={args.n}, {args.runs} runs each, load average {load:.1f}")
    print("| command | " + " | ".join(tools) + " | ratios to Django |")
    print("| --- |" + " --- |" * (len(tools) + 1))
    for which, label in ((0, "`migrate`, nothing to do"), (1, "`showmigrations`")):
        medians = {name: statistics.median(times[(name, which)]) for name in tools}
        ratios = ", ".join(f"{name} {medians[name] / medians['django']:.2f}x"
                           for name in tools if name != "django")
        print(f"| {label} | " + " | ".join(f"{medians[n]:.3f} s" for n in tools)
              + f" | {ratios} |")


if __name__ == "__main__":
    main()
