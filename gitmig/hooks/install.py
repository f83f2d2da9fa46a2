"""gitmig's git hooks: installing them without breaking the user's own, and what the
post-merge and post-checkout hooks say.

The scripts live once, in the repository's top-level hooks/ folder, installed as the package
gitmig._hook_scripts (setup.py maps it). They are the same files for every user: what
differs per repository, the Python to run and the project's pyproject.toml, is recorded in
git's config (gitmig.python, gitmig.config), so a hook works outside the virtual environment
it was installed from.
A hook that was there before is renamed NAME.gitmig-orig, keeps every byte, runs first,
and is put back by uninstall.

A hook is gitmig's only when it starts with the exact header gitmig writes (the shebang and
the `# gitmig-hook: NAME` line): a hook of the user's that merely mentions the marker is
theirs. Lines a user adds to gitmig's hook are theirs too: install keeps them, and refuses
(naming them) where keeping them would mean guessing, as does uninstall.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import os
import sys
import tempfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import pygit2

from gitmig import hints
from gitmig.atomic import temp_prefix
from gitmig.config import Config, load_config
from gitmig.errors import GitmigError
from gitmig.git.snapshot import GitProject, common_dir, open_repository

HOOKS = ("pre-commit", "post-merge", "post-checkout")
ORIG_SUFFIX = ".gitmig-orig"
PYTHON_SETTING = "gitmig.python"
CONFIG_SETTING = "gitmig.config"

INSTALLED = "installed"
ADDED_TO = "installed, with lines of yours"
OUTDATED = "outdated"
EDITED = "edited"
NOT_INSTALLED = "not installed"
FOREIGN = "foreign hook present"

# sha256 of the scripts earlier gitmig versions wrote, which install replaces as they are.
PREVIOUS = {
    "pre-commit": {"c2cd48a498709ba0f142040548e3ea32e1c474025e6f6bd86f2998948aaa3005"},
}


def script(name: str) -> bytes:
    return (resources.files("gitmig._hook_scripts") / name).read_bytes()


def header(name: str) -> bytes:
    """The exact first lines of gitmig's NAME hook: what makes a hook gitmig's."""
    return b"".join(script(name).splitlines(keepends=True)[:2])


def hooks_dir(repo: pygit2.Repository) -> Path:
    """core.hooksPath (relative to the top of the working tree, as git reads it), else the
    hooks folder of the common git dir, which linked worktrees share."""
    try:
        configured = str(repo.config["core.hooksPath"])
    except KeyError:
        return common_dir(repo) / "hooks"
    path = Path(os.path.expanduser(configured))
    return path if path.is_absolute() else Path(str(repo.workdir)) / path


def _lines(ranges: list[tuple[int, int]]) -> str:
    """1-based line numbers: `line 4`, `lines 4-6, 9`."""
    shown = [f"{a + 1}" if b - a == 1 else f"{a + 1}-{b}" for a, b in ranges]
    single = len(ranges) == 1 and ranges[0][1] - ranges[0][0] == 1
    return ("line " if single else "lines ") + ", ".join(shown)


def _theirs(name: str, data: bytes) -> tuple[bool, list[tuple[int, int]]]:
    """Lines of `data` that are not gitmig's script (0-based, end exclusive), and whether
    they are only additions, every line of the script still there and in order."""
    ours = script(name).splitlines(keepends=True)
    found = data.splitlines(keepends=True)
    codes = difflib.SequenceMatcher(None, ours, found, autojunk=False).get_opcodes()
    ranges = [(j1, j2) for tag, _, _, j1, j2 in codes if tag in ("insert", "replace")]
    only_added = all(tag in ("equal", "insert") for tag, *_ in codes)
    return only_added, ranges


@dataclass(frozen=True)
class HookState:
    name: str
    path: Path
    state: str
    chained: bool  # a previous hook is kept as NAME.gitmig-orig and runs first
    theirs: tuple[tuple[int, int], ...] = ()  # the user's lines in gitmig's hook

    @property
    def where(self) -> str:
        return _lines(list(self.theirs))

    def describe(self) -> str:
        text = {
            INSTALLED: "installed",
            ADDED_TO: f"installed, with lines of yours kept ({self.where})",
            OUTDATED: f"installed but outdated; {hints.HOOKS_INSTALL} to update it",
            EDITED: f"installed, but changed by you ({self.where}); `gitmig hooks "
            "install` will not touch it until you move your lines to "
            f"{self.name}{ORIG_SUFFIX}",
            NOT_INSTALLED: "not installed",
            FOREIGN: "foreign hook present (not gitmig's; `gitmig hooks install` keeps it "
            "and runs it first)",
        }[self.state]
        if self.chained and self.state in (INSTALLED, ADDED_TO, OUTDATED, EDITED):
            text += f"; runs your previous hook ({self.name}{ORIG_SUFFIX}) first"
        return f"{self.name}: {text}"


def _state(folder: Path, name: str) -> HookState:
    path = folder / name
    chained = os.path.lexists(folder / (name + ORIG_SUFFIX))
    if not os.path.lexists(path):
        return HookState(name, path, NOT_INSTALLED, chained)
    try:
        data = path.read_bytes()
    except OSError:
        data = b""  # unreadable, or a folder: not ours to touch
    if not data.startswith(header(name)):
        return HookState(name, path, FOREIGN, chained)
    if data == script(name):
        return HookState(name, path, INSTALLED, chained)
    if hashlib.sha256(data).hexdigest() in PREVIOUS.get(name, set()):
        return HookState(name, path, OUTDATED, chained)
    only_added, theirs = _theirs(name, data)
    return HookState(name, path, ADDED_TO if only_added else EDITED, chained, tuple(theirs))


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
                "it", hint=f"move one of them away, then {hints.HOOKS_INSTALL} again",
            )
        if s.state == EDITED:
            raise GitmigError(
                f"{s.path} was changed by you ({s.where}), gitmig's own lines too, so "
                "updating it would lose your changes",
                hint=f"move your lines to {s.name}{ORIG_SUFFIX} (it runs first), or remove "
                f"{s.path}, then {hints.HOOKS_INSTALL} again",
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
    if s.state == ADDED_TO:
        return f"{s.name}: already installed; lines of yours kept ({s.where})"
    if s.state == FOREIGN:
        os.rename(s.path, folder / (s.name + ORIG_SUFFIX))
        _write_script(s.path, script(s.name))
        return (f"{s.name}: installed; your previous hook is kept as {s.name}{ORIG_SUFFIX} "
                "and runs first")
    _write_script(s.path, script(s.name))
    verb = "updated" if s.state == OUTDATED else "installed"
    return f"{s.name}: {verb}" + (f"; runs {s.name}{ORIG_SUFFIX} first" if s.chained else "")


def _write_script(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), suffix=".tmp", dir=path.parent)
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
    states = [_state(folder, name) for name in HOOKS]
    for s in states:  # refuse before touching anything
        if s.state in (ADDED_TO, EDITED):
            raise GitmigError(
                f"{s.path} holds lines of yours ({s.where}); removing the hook would lose "
                "them",
                hint=f"move them to {s.name}{ORIG_SUFFIX} (it comes back as {s.name}), or "
                f"delete {s.path} yourself, then run `gitmig hooks uninstall` again",
            )
    lines = []
    try:
        for s in states:
            lines.append(_uninstall_one(folder, s))
    except OSError as exc:
        raise GitmigError(f"cannot change hooks in {folder}: {exc.strerror}") from None
    if all(_state(folder, name).state in (NOT_INSTALLED, FOREIGN) for name in HOOKS):
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
