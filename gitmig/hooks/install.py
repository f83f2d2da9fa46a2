"""gitmig's git hooks: installing them without breaking the user's own, and what the
post-merge and post-checkout hooks say.

The scripts live once, in the repository's top-level hooks/ folder, installed as the package
gitmig._hook_scripts (setup.py maps it). They are the same files for every user: what
differs per repository, the Python to run and the project's pyproject.toml, is recorded in
git's config (gitmig.python, gitmig.config), so a hook works outside the virtual environment
it was installed from.
A hook that was there before is renamed NAME.gitmig-orig, keeps every byte, runs first,
and is put back by uninstall.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pygit2

from gitmig.config import Config, load_config
from gitmig.errors import GitmigError
from gitmig.git.snapshot import GitProject, common_dir, open_repository

HOOKS = ("pre-commit", "post-merge", "post-checkout")
MARKER = b"\n# gitmig-hook: "
ORIG_SUFFIX = ".gitmig-orig"
PYTHON_SETTING = "gitmig.python"
CONFIG_SETTING = "gitmig.config"

INSTALLED = "installed"
OUTDATED = "outdated"
NOT_INSTALLED = "not installed"
FOREIGN = "foreign hook present"


def script(name: str) -> bytes:
    return (resources.files("gitmig._hook_scripts") / name).read_bytes()


def hooks_dir(repo: pygit2.Repository) -> Path:
    """core.hooksPath (relative to the top of the working tree, as git reads it), else the
    hooks folder of the common git dir, which linked worktrees share."""
    try:
        configured = str(repo.config["core.hooksPath"])
    except KeyError:
        return common_dir(repo) / "hooks"
    path = Path(os.path.expanduser(configured))
    return path if path.is_absolute() else Path(str(repo.workdir)) / path


def _is_ours(path: Path) -> bool:
    try:
        return MARKER in path.read_bytes()[:200]
    except OSError:
        return False


@dataclass(frozen=True)
class HookState:
    name: str
    path: Path
    state: str
    chained: bool  # a previous hook is kept as NAME.gitmig-orig and runs first

    def describe(self) -> str:
        text = {
            INSTALLED: "installed",
            OUTDATED: "installed but outdated; run `gitmig hooks install` to update it",
            NOT_INSTALLED: "not installed",
            FOREIGN: "foreign hook present (not gitmig's; `gitmig hooks install` keeps it "
            "and runs it first)",
        }[self.state]
        if self.chained and self.state in (INSTALLED, OUTDATED):
            text += f"; runs your previous hook ({self.name}{ORIG_SUFFIX}) first"
        return f"{self.name}: {text}"


def _state(folder: Path, name: str) -> HookState:
    path = folder / name
    chained = os.path.lexists(folder / (name + ORIG_SUFFIX))
    if not os.path.lexists(path):
        state = NOT_INSTALLED
    elif _is_ours(path):
        state = INSTALLED if path.read_bytes() == script(name) else OUTDATED
    else:
        state = FOREIGN
    return HookState(name, path, state, chained)


def status(project: GitProject) -> list[HookState]:
    folder = hooks_dir(project.repo)
    return [_state(folder, name) for name in HOOKS]


def hook_config(cwd: Path, explicit: str | None = None) -> Config:
    """The configuration a hook checks: --config, else the one `hooks install` recorded,
    else the nearest upwards from where git runs hooks (the top of the working tree)."""
    if explicit:
        return load_config(explicit)
    repo = open_repository(cwd)
    try:
        recorded = str(repo.config[CONFIG_SETTING])
    except KeyError:
        return load_config(cwd=cwd)
    return load_config(Path(str(repo.workdir)) / recorded)


def recorded_python(project: GitProject) -> str | None:
    return project.setting(PYTHON_SETTING)


def install(project: GitProject) -> list[str]:
    """Write the hooks; returns what was done, one line per hook. Idempotent."""
    folder = hooks_dir(project.repo)
    states = [_state(folder, name) for name in HOOKS]
    for s in states:  # refuse before touching anything
        if s.state == FOREIGN and s.chained:
            raise GitmigError(
                f"{s.path} is not gitmig's and {s.name}{ORIG_SUFFIX} already exists next to "
                "it; move one of them away, then run `gitmig hooks install` again"
            )
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lines = [_install_one(folder, s) for s in states]
    except OSError as exc:
        raise GitmigError(f"cannot write hooks in {folder}: {exc.strerror}") from None
    project.repo.config[PYTHON_SETTING] = sys.executable
    pyproject = project.relative(project.config.path, "pyproject.toml")
    project.repo.config[CONFIG_SETTING] = pyproject
    return lines


def _install_one(folder: Path, s: HookState) -> str:
    if s.state == INSTALLED:
        return f"{s.name}: already installed"
    if s.state == FOREIGN:
        os.rename(s.path, folder / (s.name + ORIG_SUFFIX))
        _write_script(s.path, script(s.name))
        return (f"{s.name}: installed; your previous hook is kept as {s.name}{ORIG_SUFFIX} "
                "and runs first")
    _write_script(s.path, script(s.name))
    verb = "updated" if s.state == OUTDATED else "installed"
    return f"{s.name}: {verb}" + (f"; runs {s.name}{ORIG_SUFFIX} first" if s.chained else "")


def _write_script(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o755)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def uninstall(project: GitProject) -> list[str]:
    """Remove gitmig's hooks and put back the ones they replaced, byte for byte."""
    folder = hooks_dir(project.repo)
    lines = []
    try:
        for name in HOOKS:
            lines.append(_uninstall_one(folder, _state(folder, name)))
    except OSError as exc:
        raise GitmigError(f"cannot change hooks in {folder}: {exc.strerror}") from None
    if not any(_state(folder, name).state in (INSTALLED, OUTDATED) for name in HOOKS):
        for key in (PYTHON_SETTING, CONFIG_SETTING):
            with contextlib.suppress(KeyError):
                del project.repo.config[key]
    return lines


def _uninstall_one(folder: Path, s: HookState) -> str:
    orig = folder / (s.name + ORIG_SUFFIX)
    if s.state == FOREIGN:
        return f"{s.name}: not gitmig's, left as it is"
    if s.state in (INSTALLED, OUTDATED):
        s.path.unlink()
    elif not s.chained:
        return f"{s.name}: not installed"
    if s.chained:
        os.rename(orig, s.path)
        return f"{s.name}: removed; your previous hook is back"
    return f"{s.name}: removed"


# -- what the post-merge and post-checkout hooks say ------------------------------------


def conflict_warnings(config: Config, rev: str | None = None) -> list[str]:
    """Apps with several latest migrations, and lock files that do not match, in the
    working tree or in revision `rev` (post-merge: the merge result itself). Migrations
    are read, never run."""
    from gitmig.git.conflicts import now

    try:
        snapshot = GitProject(config).revision(rev) if rev is not None else None
        return [p.message for p in now(config, snapshot)]
    except GitmigError as exc:
        return [f"the migrations do not load: {exc.render()}"]


def applied_but_missing_warnings(config: Config, previous: str | None = None) -> list[str]:
    """Migrations applied to the configured database that this branch does not have, each
    with where git still has its file and the command that unapplies it. Never fails: a
    database that cannot be reached is one line, none configured is nothing to say.
    `previous`: the commit checked out before; the database is read only when switching
    from it took migration files away."""
    from gitmig.git.missing import hook_warnings

    return hook_warnings(config, previous)
