"""Interleaved CPU time (user + system, os.wait4) of the hook with a model staged and of the
first `makemigrations --check`, beside Django's `makemigrations --check --dry-run`.

    python bench/wip/hookfast_measure.py N [--runs 7] [--base DIR] [--rows hook,first,django]

N's projects come from bench/generate.py (bench/.work/gen-N). --base DIR: a copy of another
gitmig's package folder (e.g. `git archive main gitmig | tar -x -C DIR`), measured through
PYTHONPATH, interleaved with this checkout's. Each variant has its own cache folder.
A throwaway measuring tool (issue 14, h/hookfast), not part of the bench.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE.parent))

from bench import generate as gen  # noqa: E402
from bench.run import SERVICES, clean_env  # noqa: E402,F401
from gitmig.migrations import lockfile  # noqa: E402
from gitmig.migrations.lockfile import LOCK_NAME  # noqa: E402

BIN = Path(sys.executable).parent


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def cpu(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, str]:
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, proc.returncode, out.decode(errors="replace")


def stage_model_commit(project: Path) -> None:
    """As bench/run.py hooks() stages "hook, model"."""
    git(project, "reset", "-q", "--hard", "HEAD")
    prepared = project / ".bench" / "hook"
    migration = next(prepared.glob("[0-9][0-9][0-9][0-9]_*.py"))
    lock = project / gen.APP / "migrations" / LOCK_NAME
    committed = lockfile.parse(lock.read_bytes())
    assert committed is not None
    new_lock = gen.LockKeeper(committed.chain).add(migration.stem, migration.read_text())
    shutil.copy(prepared / "models.py", project / gen.APP / "models.py")
    shutil.copy(migration, project / gen.APP / "migrations" / migration.name)
    (project / gen.APP / "migrations" / LOCK_NAME).write_text(new_lock)
    git(project, "add", f"{gen.APP}/models.py", f"{gen.APP}/migrations/{migration.name}",
        f"{gen.APP}/migrations/{LOCK_NAME}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", type=int)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--base", type=Path)
    parser.add_argument("--rows", default="hook,first,django")
    parser.add_argument("--warm-check", action="store_true",
                        help="run `gitmig makemigrations --check` on the staged tree once "
                        "before the hook's warm-up (a user's makemigrations run)")
    parser.add_argument("--cold-lint", action="store_true",
                        help="remove the hook's lint entry before each hook run (the first "
                        "commit attempt after makemigrations)")
    args = parser.parse_args()
    work = HERE / ".work" / f"gen-{args.n}"
    project, django = work / "gitmig", work / "django"
    scratch = HERE / ".work" / "hookfast"
    variants = {"branch": None}
    if args.base:
        variants["base"] = str(args.base.resolve())
    rows = args.rows.split(",")
    hook = Path(git(project, "rev-parse", "--git-path", "hooks/pre-commit").strip())
    hook = hook if hook.is_absolute() else project / hook

    def env_of(variant: str, first: bool = False) -> dict[str, str]:
        extra = {"XDG_CACHE_HOME": str(scratch / variant / ("first" if first else "cache"))}
        if variants[variant]:
            extra["PYTHONPATH"] = variants[variant]  # type: ignore[assignment]
        return clean_env(extra)

    def forget(variant: str) -> None:
        shutil.rmtree(scratch / variant / "first", ignore_errors=True)
        shutil.rmtree(project / ".git" / "gitmig", ignore_errors=True)

    commands = []
    for variant in variants:
        if "hook" in rows:
            def no_lint(v: str = variant) -> None:
                for entry in (scratch / v / "cache" / "gitmig").glob("hook-lint-*"):
                    entry.unlink()
            commands.append((f"hook/{variant}", [str(hook)], project, env_of(variant),
                             no_lint if args.cold_lint else None))
        if "first" in rows:
            commands.append((f"first/{variant}", [str(BIN / "gitmig"), "makemigrations",
                             "--check"], project, env_of(variant, True),
                             lambda v=variant: forget(v)))
    if "django" in rows:
        commands.append(("django", [sys.executable, "manage.py", "makemigrations", "--check",
                                    "--dry-run"], django, clean_env(), None))

    stage_model_commit(project)
    try:
        for variant in variants:
            if args.warm_check:
                print(cpu([str(BIN / "gitmig"), "makemigrations", "--check"], project,
                          env_of(variant))[1:])
        times: dict[str, list[float]] = {name: [] for name, *_ in commands}
        for i in range(args.runs + 1):
            for name, cmd, cwd, env, setup in commands:
                if setup:
                    setup()
                t, code, out = cpu(cmd, cwd, env)
                if i == 0:
                    print(f"{name}: exit {code}: {out.strip()[-300:]!r}")
                else:
                    times[name].append(t)
        load = os.getloadavg()[0]
        for name, ts in times.items():
            print(f"{name:14} median {statistics.median(ts):.3f} s  min {min(ts):.3f}  "
                  f"({len(ts)} runs)")
        if "django" in times:
            dj = statistics.median(times["django"])
            for name, ts in times.items():
                print(f"{name:14} {statistics.median(ts) / dj:.2f}x django")
        print(f"load {load:.1f}")
    finally:
        git(project, "reset", "-q", "--hard", "HEAD")


if __name__ == "__main__":
    main()
