"""bench/growth.png: how each command's time grows with N, per tool, on log-log axes.

One panel per row of the bench (what is measured), one line per tool; a dashed grey line
of slope 1 through gitmig's first point shows linear growth. Needs matplotlib (the bench
extra); without it the picture is skipped and RESULTS.md says so.
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STYLE = {"gitmig": "#1f77b4", "gitmig (1st run)": "#6baed6", "gitmig (no record)": "#9ecae1",
         "django": "#2ca02c",
         "alembic": "#d62728", "alembic history": "#d62728", "alembic heads": "#ff9896",
         "sqlite3 floor": "#555555", "psql floor": "#555555", "mariadb floor": "#555555"}


def draw(results: list[Any], sizes: list[int], order: list[str], words: dict[str, str],
         out: Path) -> str | None:
    """Write the picture; None when done, else why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import NullFormatter
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]')"
    if len(sizes) < 2:
        return "only one N was measured"
    items = [i for i in order if any(m.item == i and m.ok and m.n for m in results)]
    cols = 3
    rows = math.ceil(len(items) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    for ax, item in zip(axes.flat, items, strict=False):
        tools = sorted({m.tool for m in results if m.item == item and m.ok and m.n},
                       key=lambda t: (not t.startswith("gitmig"), t))
        for tool in tools:
            points = sorted((m.n, m.median) for m in results
                            if m.item == item and m.tool == tool and m.ok and m.n)
            if not points:
                continue
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=tool, color=STYLE.get(tool),
                    linestyle="-" if tool.startswith("gitmig") else "--")
            if tool == "gitmig" and len(xs) > 1:
                ax.plot([xs[0], xs[-1]], [ys[0], ys[0] * xs[-1] / xs[0]], color="#bbbbbb",
                        linestyle=":", label="linear from gitmig's first point")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(sorted(sizes))
        ax.set_xticklabels([str(s) for s in sorted(sizes)])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_title(words.get(item, item), fontsize=9)
        ax.set_xlabel("N migrations", fontsize=8)
        ax.set_ylabel("seconds (median)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=6)
        ax.grid(True, which="both", alpha=0.3)
    for ax in list(axes.flat)[len(items):]:
        ax.axis("off")
    fig.suptitle("Time of each command against N (log-log); lower is faster", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return None


@dataclass
class _Row:
    """A measurement as RESULTS.md shows it: enough to draw it again."""

    item: str
    tool: str
    n: int
    median: float | None

    @property
    def ok(self) -> bool:
        return self.median is not None


def from_results(path: Path) -> tuple[list[_Row], list[int]]:
    """The per-N tables of a RESULTS.md, read back (item by its words, median in s)."""
    from bench.run import ITEM_ORDER, ITEM_WORDS

    items = {ITEM_WORDS[i]: i for i in ITEM_ORDER}
    rows: list[_Row] = []
    n = 0
    for line in path.read_text().splitlines():
        found = re.match(r"^## N=(\d+)$", line)
        if found:
            n = int(found[1])
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if n and len(cells) >= 4 and cells[0] in items:
            time = re.match(r"^([0-9.]+) s$", cells[3])
            rows.append(_Row(items[cells[0]], cells[1], n, float(time[1]) if time else None))
    return rows, sorted({r.n for r in rows})


if __name__ == "__main__":  # python bench/growth.py [bench/RESULTS.md]: draw it again
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.run import ITEM_ORDER, ITEM_WORDS

    results = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "RESULTS.md"
    found, sizes = from_results(results)
    why = draw(found, sizes, ITEM_ORDER, ITEM_WORDS, results.parent / "growth.png")
    print(why or f"wrote {results.parent / 'growth.png'}")
