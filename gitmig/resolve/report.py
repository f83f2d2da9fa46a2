"""What resolve tells the user it did, and what to do next."""

from __future__ import annotations

from gitmig.config import Config
from gitmig.git.project import shown_path
from gitmig.migrations import lockfile
from gitmig.resolve.context import Context
from gitmig.resolve.entries import Entry
from gitmig.resolve.strategies import MERGE, Plan


def describe(config: Config, plans: dict[str, Plan], entries: dict[str, dict[str, Entry]],
            new_files: list[Entry], locks: dict[str, str], created: set[str]) -> list[str]:
    lines = []
    for app, plan in plans.items():
        if plan.strategy == MERGE:
            for e in new_files:
                if e.app == app:
                    joined = " and ".join(n for _, n in e.parents)
                    lines.append(f"app {app!r}: wrote the merge migration "
                                 f"{shown_path(e.path)}, joining {joined}")
            continue
        tip = entries[app][plan.tip].final
        lines.append(f"app {app!r}: this branch's migrations now follow {tip} "
                     f"(from {plan.theirs}):")
        moved = sorted((e for e in entries[app].values() if e.new_name),
                       key=lambda e: e.new_name)
        for e in moved:
            lines.append(f"  {e.name} -> {e.new_name}")
        if not moved:
            lines.append("  (re-parented only: their numbers already came after it)")
    for app in locks:
        verb = "Wrote" if app in created else "Updated"
        lines.append(f"{verb} {shown_path(lockfile.path_of(config, app))}")
    return lines


def next_step(context: Context) -> str:
    return {
        "merge": "`git commit` to conclude the merge",
        "rebase": "`git rebase --continue`",
        "cherry-pick": "`git cherry-pick --continue`",
    }.get(context.kind or "", "commit the changes")
