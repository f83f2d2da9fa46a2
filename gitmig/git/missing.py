"""Migrations the database has applied whose files this branch does not have.

Switching branches leaves them behind: `git checkout main` after migrating on a feature
branch takes the feature's migration files away, not what they did to the database.
Their files are usually still in git (gitmig.git.objects), which is enough to say which
commit holds them and, reading their parents, to which migration each app must go back
(`gitmig migrate blog 0001`, the last one the branch has in common). When the user runs
that command, the files are taken from git and unapplied from there.

Reporting (showmigrations, status, the post-checkout hook) only parses files; only
with_files_from_git, for a migrate that may go backwards, writes them out to be run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitmig.config import Config
from gitmig.errors import GitmigError
from gitmig.git.project import project_or_none
from gitmig.migrations.graph import Key, MigrationFile, MigrationGraph, migration_number

if TYPE_CHECKING:
    from gitmig.db.history.recorder import Applied
    from gitmig.git.objects import Found


@dataclass(frozen=True)
class Missing:
    key: Key
    found: Found | None  # its file in git, if any version of it is there
    in_git: bool  # whether this process could look in git at all
    target: str | None  # `gitmig migrate APP TARGET` unapplies it (None: cannot from here)

    @property
    def label(self) -> str:
        return f"{self.key[0]}.{self.key[1]}"

    @property
    def command(self) -> str | None:
        return f"gitmig migrate {self.key[0]} {self.target}" if self.target else None

    def where(self) -> str | None:
        """`file in git: 3f2a1c9` or `file not found in git` (None: not in a repository)."""
        if self.found is None:
            return "file not found in git" if self.in_git else None
        if not self.found.matches:
            edited = ", edited after it was applied"
        elif not self.found.exact:  # the same code, not proven the same bytes
            edited = ", not byte for byte the file applied"
        else:
            edited = ""
        return f"file in git: {self.found.short_commit}{edited}"

    def as_json(self) -> dict[str, object]:
        return {
            "app": self.key[0],
            "name": self.key[1],
            "git_commit": self.found.commit if self.found else None,
            "git_path": self.found.path if self.found else None,
            "same_as_applied": self.found.matches if self.found else None,
            "same_bytes_as_applied": self.found.exact if self.found else None,
            "unapply": self.command,
        }


def applied_missing(
    config: Config, graph: MigrationGraph, applied: Mapping[Key, Applied]
) -> list[Missing]:
    """The applied migrations of configured apps that the graph lacks, looked up in git
    (not those `gitmig resolve` renumbered: they are on disk under their new names)."""
    from gitmig.migrations.plan import renamed

    moved = renamed(graph, {k: a.checksum for k, a in applied.items()})
    keys = sorted(k for k in applied
                  if k not in graph.nodes and k not in moved and k[0] in config.apps)
    if not keys:
        return []
    project = project_or_none(config)
    found: dict[Key, Found] = {}
    if project is not None:
        from gitmig.git.objects import find

        found = find(project, {k: applied[k] for k in keys})
    targets = _targets(graph, keys, found)
    return [Missing(k, found.get(k), project is not None, targets.get(k[0])) for k in keys]


def _targets(graph: MigrationGraph, keys: list[Key], found: Mapping[Key, Found]) -> dict[str, str]:
    """Per app, the migration to go back to: the earliest of this branch's migrations that
    a missing one builds on (`zero` when one builds on none of them). Apps with a missing
    migration that is not in git get none: this branch cannot unapply it."""
    nodes: dict[Key, MigrationFile] = dict(graph.nodes)
    nodes.update({k: f.file for k, f in found.items()})
    order = {k: i for i, k in enumerate(graph.order())}
    out: dict[str, str] = {}
    for app in sorted({k[0] for k in keys}):
        mine = [k for k in keys if k[0] == app]
        if any(k not in found for k in mine):
            continue
        bases: set[Key | None] = set()
        for key in mine:
            bases |= _bases(key, nodes, graph)
        if None in bases or not bases:
            out[app] = "zero"
            continue
        base = min((b for b in bases if b is not None), key=lambda b: order[b])
        out[app] = _shortest(base, nodes)
    return out


def _bases(key: Key, nodes: Mapping[Key, MigrationFile], graph: MigrationGraph) -> set[Key | None]:
    """This branch's migrations of the app that `key` builds on first (None: none)."""
    out: set[Key | None] = set()
    stack, seen = [key], set()
    while stack:
        k = stack.pop()
        if k in seen:
            continue
        seen.add(k)
        same = [p for p in nodes[k].parents if p[0] == key[0]] if k in nodes else []
        if not same:
            out.add(None)
        for p in same:
            if p in graph.nodes:
                out.add(p)
            elif p in nodes:
                stack.append(p)
            else:
                out.add(None)  # a parent nowhere to be found: only zero is sure
    return out


def _shortest(key: Key, nodes: Mapping[Key, MigrationFile]) -> str:
    """The migration's number when that names it alone (`0001`), else its full name."""
    number = key[1].split("_", 1)[0]
    same = [k for k in nodes if k[0] == key[0] and k[1].startswith(number)]
    return number if same == [key] else key[1]


# -- migrate: unapplying what only git still has -------------------------------------------


def with_files_from_git(
    config: Config,
    graph: MigrationGraph,
    applied: Mapping[Key, Applied],
    app: str,
    target: str,
    warn: Callable[[str], None],
    mode: str | None = None,
) -> MigrationGraph:
    """The graph plus the applied migrations it lacks, their files taken from git.

    Code from git runs only when it is the code this database ran, byte for byte: the
    blob's SHA-256 is the one recorded when it was applied (a row an older gitmig wrote,
    without it, proves nothing of the sort, and is refused with the way to restore the
    file). Only files whose parents are known are used. With a `mode` (--plan, --check,
    --fake: they print or record only), a migration that would have to come from git
    stops the command: its file is never imported. A missing migration of `app` that
    `migrate APP TARGET` would have to unapply, but that cannot be used, stops the command
    before anything runs and names the file to restore.
    """
    keys = sorted(k for k in applied if k not in graph.nodes and k[0] in config.apps)
    if not keys:
        return graph
    project = project_or_none(config)
    found: dict[Key, Found] = {}
    if project is not None:
        from gitmig.git.objects import find

        found = find(project, {k: applied[k] for k in keys})
    usable = {k: f for k, f in found.items() if f.exact}
    while True:  # keep only files whose parents are all known
        known = set(graph.nodes) | set(usable)
        dropped = [k for k, f in usable.items() if not set(f.file.parents) <= known]
        if not dropped:
            break
        for k in dropped:
            del usable[k]
    after = None if target == "zero" else migration_number(graph.resolve(app, target)[1])
    needed = []
    for key in keys:
        if key[0] != app or (after is not None and migration_number(key[1]) <= after):
            continue
        if key not in usable:
            raise GitmigError(_cannot_unapply(config, key, found.get(key), project is not None,
                                              target, applied[key]))
        needed.append(key)
    if not usable:
        return graph
    if mode is not None and needed:
        _refuse_to_run(config, needed, usable, target, mode)
    assert project is not None
    from gitmig.git.objects import export
    from gitmig.migrations import plan

    files = [export(project, f) for f in usable.values()]
    extended = MigrationGraph([*graph.nodes.values(), *files], graph.apps)
    steps = plan.to_target(extended, set(applied), app, target)
    for step in steps:
        if step.key in usable:
            warn(f"{step.label} is not in the working tree; unapplying the version in git "
                 f"(commit {usable[step.key].short_commit})")
    return extended


def _refuse_to_run(config: Config, needed: list[Key], usable: Mapping[Key, Found],
                   target: str, mode: str) -> None:
    """--plan, --check and --fake never import a file taken from git."""
    from gitmig.errors import CheckFailed

    app = needed[0][0]
    labels = ", ".join(f"{k[0]}.{k[1]}" for k in needed)
    run = f"`gitmig migrate {app} {target}`"
    if mode == "--check":
        raise CheckFailed(
            f"the database is not up to date: {labels} to unapply, its file only in git; "
            f"run {run}")
    restore = "; ".join(
        f"`git show {usable[k].short_commit}:{usable[k].path} > {_shown(config, k)}`"
        for k in needed)
    raise GitmigError(
        f"{labels} would be unapplied from a file that only git has, and {mode} runs no code "
        f"taken from git; nothing was changed. Run {run} to unapply the version in git (the "
        f"one this database applied), or first restore the file: {restore}")


def _shown(config: Config, key: Key) -> str:
    """Where the file of a migration belongs, as the user would type it."""
    import os
    import shlex

    path = config.apps[key[0]].migrations / f"{key[1]}.py"
    try:
        text = os.path.relpath(path)
    except ValueError:
        text = str(path)
    return shlex.quote(text)


def _cannot_unapply(config: Config, key: Key, found: Found | None, in_git: bool, target: str,
                    row: Applied) -> str:
    from gitmig.migrations.loader import is_legacy

    label = f"{key[0]}.{key[1]}"
    path = _shown(config, key)
    restore = f"restore the file, as it was applied, to {path}"
    if found is not None and not found.exact and (found.matches or is_legacy(row.checksum)):
        if is_legacy(row.checksum):
            why = (f"its file in git (commit {found.short_commit}) cannot be proven to be the "
                   "code that ran: an older gitmig recorded a checksum of its operations only")
        elif row.content is None:
            why = (f"its file in git (commit {found.short_commit}) cannot be proven to be "
                   "byte for byte the file that ran: this database applied it before gitmig "
                   "recorded each file's SHA-256")
        else:
            why = (f"its file in git (commit {found.short_commit}) is not byte for byte the "
                   "file this database applied (the same code, but other comments or layout: "
                   "perhaps a fork's or a formatter's version)")
        restore = (f"restore the file, byte for byte as it was applied, to {path}: if you are "
                   f"sure commit {found.short_commit}'s version is it, `git show "
                   f"{found.short_commit}:{found.path} > {path}`, then run `gitmig migrate "
                   f"{key[0]} {target}` and delete the file again")
        return (f"cannot unapply {label}, which is applied to the database: {why}; nothing "
                f"was run or changed. Check out a branch that has its file and run `gitmig "
                f"migrate {key[0]} {target}` there, or {restore}")
    if found is not None and not found.matches:
        why = (f"its file in git (commit {found.short_commit}) is not the version that was "
               "applied (it differs from the code this database ran)")
    elif found is not None:
        why = "a migration it builds on is in neither the working tree nor git"
    elif in_git:
        why = ("its file is in neither the working tree nor git (searched every branch, tag "
               "and the reflog)")
    else:
        why = "its file is missing and the project is not in a git repository"
    return (f"cannot unapply {label}, which is applied to the database: {why}; nothing was "
            f"changed. Check out a branch that has its file and run `gitmig migrate {key[0]} "
            f"{target}` there, or {restore}")


# -- the post-checkout and post-merge hooks ------------------------------------------------


def hook_warnings(config: Config, previous: str | None = None) -> list[str]:
    """What the hooks say about migrations applied to the configured database that this
    branch lacks. Never raises: a database that cannot be read is one quiet line, and no
    database configured (or a SQLite file not created yet) is nothing to say.

    With `previous` (the commit checked out before), the database is read only when the
    switch took migration files away, so most checkouts cost no connection at all.
    """
    import os

    from gitmig.config import DATABASE_ENV

    if not (os.environ.get(DATABASE_ENV) or config.database):
        return []
    if previous is not None and _removed_migrations(config, previous) is False:
        return []
    try:
        applied, url = _read_applied_in_time(config)
    except _GaveUp as exc:
        return [str(exc)]
    except GitmigError as exc:
        return [f"not checking for applied migrations this branch lacks: {exc.message}"]
    except Exception as exc:  # a hook must never break a checkout
        return [f"not checking for applied migrations this branch lacks: {exc}"]
    if not applied:
        return []
    from gitmig.migrations.loader import load_graph, upgrade_recorded

    try:
        graph = load_graph(config)
        applied = upgrade_recorded(graph, applied)[0]
        missing = applied_missing(config, graph, applied)
    except Exception:
        return []  # the migrations do not load: conflict_warnings says so
    out = []
    for m in missing:
        where = m.where()
        text = (f"{m.label} is applied to the database {url} but this branch does not have "
                f"it" + (f" ({where})" if where else ""))
        if m.command:
            text += f"; unapply it with `{m.command}`"
        else:
            text += "; check out a branch that has it to unapply it"
        out.append(text)
    return out


def _removed_migrations(config: Config, previous: str) -> bool | None:
    """Whether a migration file of `previous` is missing from the working tree now (None:
    cannot tell)."""
    import pygit2

    from gitmig.migrations.loader import FILE_RE

    project = project_or_none(config)
    if project is None:
        return None
    try:
        commit = project.repo.revparse_single(previous).peel(pygit2.Commit)
        worktree = project.worktree()
        for app in worktree.layout.apps.values():
            try:
                folder = commit.tree[app.migrations] if app.migrations else commit.tree
            except KeyError:
                continue
            if not isinstance(folder, pygit2.Tree):
                continue
            before = {str(e.name) for e in folder if FILE_RE.match(str(e.name))}
            if before - set(worktree.listdir(app.migrations)):
                return True
    except (KeyError, ValueError, pygit2.GitError, GitmigError):
        return None
    return False


HOOK_TIMEOUT = 3  # seconds: the connect and read timeouts of a hook's connection
HOOK_DEADLINE = 6  # seconds: the most a hook waits for the database, whatever hangs


class _GaveUp(Exception):
    """A hook stopped waiting for the database; its text is the hook's one line."""


def _read_applied_in_time(config: Config) -> tuple[dict[Key, Applied], str]:
    """_read_applied, given up on when the database does not answer in time.

    The drivers' timeouts do not cover everything (a name that takes long to resolve, a
    server that answers the connection and then nothing, libpq trying every address in
    turn), so the reading runs in a thread the hook stops waiting for at HOOK_DEADLINE;
    git must not wait on a server. A failure that took as long as the timeout is a
    timeout, whatever the driver called it."""
    import threading
    import time

    from gitmig.db.connection import display_url

    outcome: list[tuple[dict[Key, Applied], str] | BaseException] = []

    def read() -> None:
        try:
            outcome.append(_read_applied(config))
        except BaseException as exc:  # handed over to the hook's thread
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=read, name="gitmig-hook-database", daemon=True)
    worker.start()
    worker.join(HOOK_DEADLINE)
    took = time.monotonic() - started
    try:
        url = display_url(config.database_url())
    except GitmigError:
        url = "configured"
    detail = ""
    if outcome:
        got = outcome[0]
        if not isinstance(got, BaseException):
            return got
        if took < HOOK_TIMEOUT * 0.9:
            raise got
        text = got.message if isinstance(got, GitmigError) else str(got)
        detail = f": {text.rpartition(f'{url}: ')[2] or text}"
    raise _GaveUp(
        f"gave up checking for applied migrations this branch lacks after {took:.0f} s: the "
        f"database {url} did not answer{detail}; run `gitmig showmigrations` once it does")


def _read_applied(config: Config) -> tuple[dict[Key, Applied], str]:
    from gitmig.db.connection import connect, database_missing, display_url
    from gitmig.db.history.recorder import Recorder

    url = config.database_url()
    if database_missing(url):
        return {}, display_url(url)
    with connect(url, timeout=HOOK_TIMEOUT) as conn:
        return Recorder(conn).applied(), display_url(url)
