"""`gitmig showmigrations` beside Django's, interleaved: the figures of bench/README.md's
h/showmig section.

PROJECT is a copy of a generated bench project (`cp -a bench/.work/n200-seed1 /tmp/n200`)
whose databases were built as the bench builds them (`gitmig migrate` in gitmig/,
`python manage.py migrate` in django/). Each round runs every variant once, in turn
(gitmig, base, django, gitmig, ...), so that the shared machine's load falls on all alike;
reported are the medians of wall time and of CPU time (user + system of the whole
process, os.wait4), and each gitmig's ratio to Django's. `--base SRC` adds gitmig from
another checkout (through PYTHONPATH, with its own cache folder); its output must equal
this checkout's. `--pg N` reads PostgreSQL databases `showmig_nN` (gitmig) and
`showmig_djN` (Django) on BENCH_POSTGRES_URL's server instead of the SQLite files.

    python bench/wip/showmig_measure.py PROJECT [--rounds 20] [--base SRC] [--pg N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
SERVER = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("project", type=Path)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--base", help="another gitmig checkout, run through PYTHONPATH")
    parser.add_argument("--pg", type=int, metavar="N", help="PostgreSQL databases for N")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="showmig-measure-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GITMIG_", "BENCH_", "DJANGO_"))
           and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    if args.pg is not None:
        env["GITMIG_DATABASE_URL"] = (SERVER.replace("postgresql://", "postgresql+psycopg://")
                                      + f"/showmig_n{args.pg}")
        env["BENCH_DATABASE_URL"] = f"{SERVER}/showmig_dj{args.pg}"
    gitmig = [str(BIN / "gitmig"), "showmigrations"]
    variants = {"gitmig": (gitmig, args.project / "gitmig",
                           {**env, "XDG_CACHE_HOME": str(scratch / "cache")})}
    if args.base:
        variants["base"] = (gitmig, args.project / "gitmig",
                            {**env, "PYTHONPATH": args.base,
                             "XDG_CACHE_HOME": str(scratch / "cache-base")})
    variants["django"] = ([sys.executable, "manage.py", "showmigrations"],
                          args.project / "django", env)
    outputs = {name: scratch / f"{name}.out" for name in variants}
    for name, spec in variants.items():  # warm-up: bytecode, caches
        run(*spec, outputs[name])
    if args.base:
        assert outputs["base"].read_bytes() == outputs["gitmig"].read_bytes(), "outputs differ"
    wall: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, spec in variants.items():
            w, c = run(*spec, outputs[name])
            wall[name].append(w)
            cpu[name].append(c)
    print(f"{args.project} {'PostgreSQL' if args.pg else 'SQLite'}, {args.rounds} rounds, "
          f"load average {os.getloadavg()[0]:.1f}")
    dw, dc = statistics.median(wall["django"]), statistics.median(cpu["django"])
    for name in variants:
        mw, mc = statistics.median(wall[name]), statistics.median(cpu[name])
        print(f"  {name:7} wall {mw * 1000:7.1f} ms ({mw / dw:.3f}x)  "
              f"CPU {mc * 1000:7.1f} ms ({mc / dc:.3f}x)")


def run(cmd: list[str], cwd: Path, env: dict[str, str], out: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process, its output to `out`."""
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.chdir(cwd)
            os.dup2(fd, 1)
            os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
            os.execve(cmd[0], cmd, env)
        finally:
            os._exit(127)
    os.close(fd)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    assert os.waitstatus_to_exitcode(status) == 0, f"{cmd} failed: {out.read_text()[-500:]}"
    return seconds, usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    main()
