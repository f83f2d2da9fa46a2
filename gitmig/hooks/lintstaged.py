"""The pre-commit hook's lint: `gitmig lint` on the migrations being committed.

Its findings are printed and let the commit through, except those of the rules that
[tool.gitmig.lint] `block` names. A staged migration is judged from the working tree's
file (migration files run only from there), so one whose staged content differs from
the working tree is left out, and said so.

What the lint said is kept in the state cache under everything it was computed from
(gitmig.actions.lintcache; `gitmig makemigrations` fills it for the migrations it wrote),
so that the commit of a new migration, or the same commit tried again, is judged without
importing the migrations, the rules and SQLAlchemy.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from gitmig.actions import lintcache
from gitmig.actions.lintcache import Said
from gitmig.config import Config
from gitmig.git.snapshot import GitProject, repo_path
from gitmig.migrations.graph import Key
from gitmig.migrations.loader import FILE_RE


@dataclass
class StagedLint:
    findings: list[Said] = field(default_factory=list)
    blocking: list[Said] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # staged files not judged, and why


def staged_keys(config: Config, index_file: str | None,
                project: GitProject | None = None) -> tuple[list[Key], list[str]]:
    """Migrations added or changed in the index, and those left out (not as in the tree)."""
    project = project or GitProject(config)
    index = project.index(index_file)
    staged = project.staged_paths(index)
    worktree = project.worktree()
    keys: list[Key] = []
    skipped: list[str] = []
    for app in config.apps.values():
        folder = project.relative(app.migrations, "the migrations folder")
        for name in index.listdir(folder):
            path = repo_path(folder, name)
            if not FILE_RE.match(name) or path not in staged:
                continue
            if index.read(path) != worktree.read(path):
                skipped.append(f"{path} (staged differs from the working tree)")
                continue
            keys.append((app.label, name[:-3]))
    return keys, skipped


def lint_staged(config: Config, index_file: str | None = None) -> StagedLint:
    project = GitProject(config)
    keys, skipped = staged_keys(config, index_file, project)
    out = StagedLint(skipped=skipped)
    if not keys:
        return out
    key = lintcache.key(project, keys)
    said = lintcache.cached(config, key)
    if said is None:
        from gitmig.actions.lint import lint

        said = lintcache.said(lint(config, keys=keys).shown)
        lintcache.remember(config, key, said)
    out.findings = said
    out.blocking = [f for f in said if f.rule in config.lint.block]
    return out


def lines(found: StagedLint, cwd: Path) -> list[str]:
    """What the hook prints: one line per finding, the safe way under it."""
    out = []
    for f in found.findings:
        try:
            where = os.path.relpath(f.path, cwd)
        except ValueError:
            where = f.path
        at = f":{f.line}" if f.line else ""
        blocks = " (blocks the commit)" if f in found.blocking else ""
        out.append(f"lint: {where}{at}: {f.severity} {f.rule}: {f.message}{blocks}")
        out.append(f"    safe: {f.safe}")
    out += [f"lint: not judged: {s}" for s in found.skipped]
    return out


