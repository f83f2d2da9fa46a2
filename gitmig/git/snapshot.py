"""The project as git holds it: the working tree, the index, or any revision.

A snapshot gives the project's files as they are there: its [tool.gitmig] section, its
migrations (parsed from blobs with the loader's ast reader, never executed in this
process) and its models. The models and migrations of a snapshot other than the working
tree are only ever imported in a child process (gitmig.git.worker), from a copy of
that snapshot's files written once into a cache keyed by the tree's id; the working tree's
are imported here, as makemigrations does. Git is read through pygit2 alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pygit2

from gitmig import regular
from gitmig.atomic import temp_dir_prefix
from gitmig.config import Config, parse_section
from gitmig.errors import GitmigError
from gitmig.git.export import UnsafeTree, prune, write_tree
from gitmig.git.worker import answer, last_app
from gitmig.migrations.graph import MigrationFile, MigrationGraph
from gitmig.migrations.loader import FILE_RE, load_graph, parse_migration, read_blobs

if TYPE_CHECKING:
    from gitmig.schema.state import SchemaState

WORKTREE = "worktree"
INDEX = "index"
REVISION = "revision"



def open_repository(start: Path) -> pygit2.Repository:
    """The repository holding `start`, which must have a working tree."""
    found = pygit2.discover_repository(str(start))
    if found is None:
        raise GitmigError(
            f"{start} is not inside a git repository; gitmig reads revisions and the index "
            "from git (run `git init` first)"
        )
    try:
        repo = pygit2.Repository(found)
    except pygit2.GitError as exc:  # e.g. owned by another user (git's safe.directory)
        detail = str(exc).removeprefix(f"{found}: ").removeprefix(f"{found.rstrip('/')}: ")
        raise GitmigError(f"cannot open the git repository at {found.rstrip('/')}: "
                          f"{detail.rstrip('.')}") from None
    if repo.is_bare or repo.workdir is None:
        raise GitmigError(
            f"{found.rstrip('/')} is a bare repository; gitmig needs a working tree with the "
            "project's pyproject.toml (clone it, or use `git worktree add`)"
        )
    _check_head(repo)
    return repo


def _check_head(repo: pygit2.Repository) -> None:
    """HEAD naming a branch git could never create stops here, not in a traceback later."""
    try:
        head = repo.references["HEAD"]
        target = head.target
    except (KeyError, ValueError, pygit2.GitError) as exc:
        raise GitmigError(f"cannot read HEAD of the git repository at {repo.path.rstrip('/')}: "
                          f"{exc}") from None
    if isinstance(target, str) and not pygit2.reference_is_valid_name(target):
        raise GitmigError(
            f"HEAD of the git repository at {str(repo.workdir).rstrip('/')} points at "
            f"{target!r}, which is not a valid branch name; check out a branch "
            "(`git checkout main`)"
        )


def common_dir(repo: pygit2.Repository) -> Path:
    """The git folder shared by all worktrees (a linked worktree's own holds `commondir`)."""
    gitdir = Path(repo.path)
    pointer = gitdir / "commondir"
    if pointer.is_file():
        return (gitdir / pointer.read_text().strip()).resolve()
    return gitdir.resolve()


def repo_path(*parts: str) -> str:
    """Repository-relative posix path; the top folder is ""."""
    path = posixpath.normpath(posixpath.join(*parts)) if any(parts) else ""
    return "" if path == "." else path


@dataclass(frozen=True)
class AppLayout:
    label: str
    models: str
    migrations: str  # folder relative to the repository's top


@dataclass(frozen=True)
class Layout:
    """Where a snapshot keeps the project, as folders relative to the repository's top."""

    root: str
    pythonpath: tuple[str, ...]
    apps: dict[str, AppLayout]
    section: dict[str, Any] = field(compare=False)
    own_section: bool = True  # False: the snapshot has none, the working tree's is used

    @property
    def pyproject(self) -> str:
        return repo_path(self.root, "pyproject.toml")

    @property
    def bases(self) -> tuple[str, ...]:
        """Folders put first on sys.path when the models are imported."""
        return (self.root, *self.pythonpath)

    def folders(self) -> list[str]:
        return [self.root, *self.pythonpath, *(a.migrations for a in self.apps.values())]


class GitProject:
    """A configured project and the repository it lives in."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.repo = open_repository(config.root)
        self.workdir = Path(str(self.repo.workdir)).resolve()
        self.prefix = self.relative(config.root, "the project folder")

    def relative(self, path: Path, what: str) -> str:
        try:
            rel = path.resolve().relative_to(self.workdir)
        except ValueError:
            raise GitmigError(
                f"{what} {path} is outside the git repository at {self.workdir}; "
                "gitmig can only read what git holds"
            ) from None
        return "" if rel == Path(".") else rel.as_posix()

    @cached_property
    def cache_dir(self) -> Path:
        return common_dir(self.repo) / "gitmig" / "trees"

    def setting(self, key: str) -> str | None:
        try:
            value = self.repo.config[key]
        except KeyError:
            return None
        return str(value)

    # -- snapshots ---------------------------------------------------------------------

    def worktree(self) -> Snapshot:
        return Snapshot(self, WORKTREE, "the working tree", None, None)

    def index(self, index_file: str | None = None) -> Snapshot:
        """What is staged; `index_file` is another index (git's GIT_INDEX_FILE in hooks)."""
        try:
            index = pygit2.Index(index_file) if index_file else self.repo.index
            tree_id = index.write_tree(self.repo)  # writes tree objects, changes no file
        except pygit2.GitError as exc:
            raise GitmigError(
                f"cannot read the index of {self.workdir}: {exc}; resolve unmerged paths "
                "first (git status shows them)"
            ) from None
        tree = self.repo[tree_id]
        assert isinstance(tree, pygit2.Tree)
        return Snapshot(self, INDEX, "the index", tree, None)

    def revision(self, rev: str) -> Snapshot:
        """Any revision git understands: HEAD~2, a branch, a tag, a (short) hash."""
        try:
            obj = self.repo.revparse_single(rev)
        except (KeyError, ValueError, pygit2.GitError):
            if self.repo.head_is_unborn:
                branch = str(self.repo.references["HEAD"].target).removeprefix("refs/heads/")
                raise GitmigError(
                    f"unknown revision {rev!r}: the branch {branch!r} has no commits yet; "
                    "commit first"
                ) from None
            raise GitmigError(
                f"unknown revision {rev!r}: not a branch, tag, commit or revision expression "
                f"of the repository at {self.workdir}"
            ) from None
        commit: str | None = None
        if isinstance(obj, pygit2.Tree):
            tree = obj
        else:
            try:
                peeled = obj.peel(pygit2.Commit)
            except (pygit2.GitError, ValueError, TypeError):
                raise GitmigError(
                    f"revision {rev!r} names a {obj.type_str}, not a commit or a tree"
                ) from None
            commit = str(peeled.id)
            tree = peeled.tree
        return Snapshot(self, REVISION, rev, tree, commit)

    def staged_paths(self, index: Snapshot) -> set[str]:
        """Paths whose staged content differs from HEAD (both sides of a rename)."""
        assert index.tree is not None
        if self.repo.head_is_unborn:
            return set(_walk_blobs(index.tree, ""))
        head = self.repo.revparse_single("HEAD").peel(pygit2.Commit).tree
        paths: set[str] = set()
        for delta in head.diff_to_tree(index.tree).deltas:
            paths.add(delta.old_file.path)
            paths.add(delta.new_file.path)
        return paths


def _walk_blobs(tree: pygit2.Tree, prefix: str) -> list[str]:
    out = []
    for entry in tree:
        path = repo_path(prefix, str(entry.name))
        if isinstance(entry, pygit2.Tree):
            out += _walk_blobs(entry, path)
        else:
            out.append(path)
    return out


class Snapshot:
    """One version of the project: files, configuration, migrations and models."""

    def __init__(
        self,
        project: GitProject,
        kind: str,
        label: str,
        tree: pygit2.Tree | None,
        commit: str | None,
    ) -> None:
        self.project = project
        self.kind = kind
        self.label = label
        self.tree = tree
        self.commit = commit
        self._folders: dict[str, pygit2.Object | None] = {}  # _entry's trees, by path

    def __repr__(self) -> str:
        return f"<Snapshot {self.label}>"

    @property
    def described(self) -> str:
        """The label with the commit it resolved to: `HEAD~1 (3f2a1c9)`."""
        if self.commit and not self.commit.startswith(self.label):
            return f"{self.label} ({self.commit[:7]})"
        return self.label

    def display(self, path: str) -> str:
        """How a repository path of this snapshot is shown: git's REV:path for revisions."""
        if self.kind == REVISION:
            return f"{self.label}:{path}"
        if self.kind == WORKTREE:
            return str(self.project.workdir / path)
        return path

    # -- files -------------------------------------------------------------------------

    def _entry(self, path: str) -> pygit2.Object | None:
        """The object at a path, looked up in its folder's tree, which is read once:
        looking up a whole path reads every tree on the way again, and a folder of a
        thousand migrations read once per file costs seconds."""
        assert self.tree is not None
        if not path:
            return self.tree
        folder, _, name = path.rpartition("/")
        parent = self._folder(folder)
        if not isinstance(parent, pygit2.Tree):
            return None
        try:
            obj: pygit2.Object = parent[name]
        except KeyError:
            return None
        except (ValueError, pygit2.GitError) as exc:
            raise self._damaged(exc) from None
        return obj

    def _folder(self, path: str) -> pygit2.Object | None:
        found = self._folders.get(path, self)
        if found is self:
            found = self._folders[path] = self._entry(path)
        return found  # type: ignore[return-value]

    def _damaged(self, exc: Exception) -> GitmigError:
        """A tree that names objects the repository lacks (or cannot parse)."""
        detail = str(exc).strip("'\"")
        return GitmigError(f"cannot read {self.described} from git: {detail}; its objects "
                           "are missing or damaged (`git fsck` says more)")

    def read(self, path: str) -> bytes | None:
        """A file's bytes, or None when the snapshot has no such file."""
        if self.tree is None:
            try:
                return regular.read_bytes(self.project.workdir / path)
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                return None
            except OSError as exc:  # a FIFO or a device: refused, never waited on
                raise GitmigError(f"cannot read this file: {exc.strerror}",
                                  path=str(self.project.workdir / path)) from None
        obj = self._entry(path)
        try:
            return obj.data if isinstance(obj, pygit2.Blob) else None
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise self._damaged(exc) from None

    def is_dir(self, path: str) -> bool:
        if self.tree is None:
            return (self.project.workdir / path).is_dir()
        return isinstance(self._entry(path), pygit2.Tree)

    def listdir(self, path: str) -> list[str]:
        """Names of the files directly in a folder (none when it does not exist)."""
        if self.tree is None:
            folder = self.project.workdir / path
            if not folder.is_dir():
                return []
            return sorted(p.name for p in folder.iterdir() if p.is_file())
        obj = self._entry(path)
        if not isinstance(obj, pygit2.Tree):
            return []
        try:
            return sorted(str(e.name) for e in obj if isinstance(e, pygit2.Blob))
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise self._damaged(exc) from None

    def names(self, path: str) -> set[str]:
        """Names of everything directly in a folder of a git snapshot, files and folders
        (none when it does not exist)."""
        assert self.tree is not None
        obj = self._entry(path)
        if not isinstance(obj, pygit2.Tree):
            return set()
        try:
            return {str(e.name) for e in obj}
        except (KeyError, ValueError, pygit2.GitError) as exc:
            raise self._damaged(exc) from None

    # -- configuration -----------------------------------------------------------------

    @cached_property
    def layout(self) -> Layout:
        project = self.project
        if self.kind == WORKTREE:
            config = project.config
            section = _section_of(config.path.read_bytes(), str(config.path)) or {}
            # Folders outside the repository are fine here: the working tree is read from
            # disk, never from git.
            def rel(path: Path) -> str:
                return Path(os.path.relpath(path, project.workdir)).as_posix()

            return Layout(
                root=project.prefix,
                pythonpath=tuple(rel(p) for p in config.pythonpath),
                apps={
                    label: AppLayout(label, app.models, rel(app.migrations))
                    for label, app in config.apps.items()
                },
                section=section,
            )
        where = self.display(repo_path(project.prefix, "pyproject.toml"))
        raw = self.read(repo_path(project.prefix, "pyproject.toml"))
        own = _section_of(raw, where) if raw is not None else None
        if own is not None:
            return self._layout_from(own, where, True)
        # Before `gitmig init` was committed: read the snapshot with today's settings.
        today = _section_of(project.config.path.read_bytes(), str(project.config.path))
        return self._layout_from(today or {}, where, False)

    def _layout_from(self, section: dict[str, Any], where: str, own: bool) -> Layout:
        config = parse_section(section, Path(where))  # validates, with this snapshot's name
        root = self.project.prefix
        pythonpath = tuple(
            self._inside(repo_path(root, p), "pythonpath folder")
            for p in section.get("pythonpath", [])
        )
        apps = {}
        for label, app in config.apps.items():
            value = section["apps"][label]
            explicit = value.get("migrations") if isinstance(value, dict) else None
            if explicit is not None:
                folder = repo_path(root, explicit)
            else:
                package = app.models.rpartition(".")[0].replace(".", "/")
                folder = repo_path(root, package, "migrations")
                for base in (root, *pythonpath):
                    if package and self.is_dir(repo_path(base, package)):
                        folder = repo_path(base, package, "migrations")
                        break
            apps[label] = AppLayout(label, app.models, self._inside(folder, "migrations folder"))
        return Layout(root, pythonpath, apps, section, own)

    def _inside(self, path: str, what: str) -> str:
        if path == ".." or path.startswith("../"):
            raise GitmigError(
                f"the {what} {path!r} of {self.described} is outside the git repository; "
                "gitmig can only read what git holds"
            )
        return path

    # -- migrations --------------------------------------------------------------------

    def migration_files(self, app: str) -> list[MigrationFile]:
        """An app's migrations, parsed (never executed) from this snapshot's files."""
        folder = self.layout.apps[app].migrations
        blobs = []
        for name in self.listdir(folder):
            if not FILE_RE.match(name):
                continue
            path = repo_path(folder, name)
            source = self.read(path)
            assert source is not None
            blobs.append((name[:-3], source, self.display(path)))
        if self.kind == WORKTREE:
            return [parse_migration(app, n, source, path) for n, source, path in blobs]
        here = self.project.config.apps.get(app)
        shared = f"{app}\0{here.migrations}" if here is not None else None
        return read_blobs(app, f"{app}\0{self.project.workdir / folder}", blobs, shared)

    def graph(self) -> MigrationGraph:
        if self.kind == WORKTREE:
            return load_graph(self.project.config)
        files: list[MigrationFile] = []
        for app in self.layout.apps:
            files += self.migration_files(app)
        return MigrationGraph(files, list(self.layout.apps))

    # -- models and replayed state -----------------------------------------------------

    def models_state(self, missing_is_empty: bool = False) -> SchemaState:
        """The schema the snapshot's models declare; with `missing_is_empty`, an app whose
        models module does not exist in the snapshot has no tables (it came later)."""
        return self.states(replay=False, missing_is_empty=missing_is_empty)[0]

    def states(
        self, replay: bool = True, missing_is_empty: bool = False
    ) -> tuple[SchemaState, SchemaState | None]:
        """(the models' schema, the schema the migrations replay to, if asked for)."""
        if self.kind == WORKTREE:
            from gitmig.migrations.replay import Replayer
            from gitmig.schema.models import models_state

            config = self.project.config
            replayed = Replayer(load_graph(config)).state() if replay else None
            return models_state(config), replayed
        return self._child_states(self.export(), replay, missing_is_empty)

    def _child_states(
        self, exported: Path | None, replay: bool, missing_is_empty: bool
    ) -> tuple[SchemaState, SchemaState | None]:
        from gitmig.schema.state import SchemaState
        from gitmig.schema.stateio import from_json

        if exported is None:
            if missing_is_empty:
                return SchemaState(), SchemaState() if replay else None
            raise GitmigError(f"{self.described} has no folder {self.project.prefix!r}")
        result = self._run_worker(exported, replay, missing_is_empty)
        models = from_json(result["models"])
        return models, from_json(result["replayed"]) if replay else None

    def _run_worker(self, exported: Path, replay: bool, missing_is_empty: bool) -> dict[str, Any]:
        layout = self.layout
        root = exported / posixpath.relpath(layout.root or ".", self._ancestor() or ".")
        root = root.resolve()
        command = [sys.executable, "-P", "-m", "gitmig.git.worker",
                   str(root / "pyproject.toml")]
        if replay:
            command.append("--replay")
        if missing_is_empty:
            command.append("--missing-is-empty")
        if not layout.own_section:
            command += ["--section", json.dumps(layout.section)]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        here = str(Path(__file__).resolve().parents[2])  # so the child finds this gitmig
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, os.environ.get("PYTHONPATH", "")) if p
        )
        if self.kind == REVISION and not self._is_head():
            what = "models and migrations" if replay else "models"
            commit = f"{self.commit[:7]} ({self.label})" if self.commit else self.described
            print(f"gitmig: importing the {what} of {commit} to read their schema",
                  file=sys.stderr, flush=True)
        limit = self.project.config.models_time_limit()
        try:
            proc = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError as exc:
            raise GitmigError(f"cannot start {sys.executable}: {exc.strerror}") from None
        try:
            stdout, stderr = proc.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            proc.kill()
            stdout, stderr = proc.communicate()
            app = last_app(stdout)
            where = f" (app {app!r} did not finish)" if app else ""
            raise GitmigError(
                f"importing the models of {self.described} did not finish within {limit:g} "
                f"s{where}; models that wait (a loop, input(), a server) cannot be checked. "
                "Set models_timeout in [tool.gitmig] (or GITMIG_MODELS_TIMEOUT) to allow "
                "more time"
            ) from None
        result = answer(stdout)
        if result is None:
            raise GitmigError(self._unfinished(proc.returncode, stdout, stderr))
        if stderr:  # what the models printed: the user's to see, never part of an answer
            sys.stderr.write(stderr.decode(errors="replace"))
            sys.stderr.flush()
        error = result.get("error")
        if error:
            message = self._shown(str(error["message"]), exported)
            what = "the models" if error["stage"] == "models" else "the migrations"
            raise GitmigError(f"cannot {'import' if what == 'the models' else 'replay'} "
                              f"{what} of {self.described}: {message}")
        return result

    def _is_head(self) -> bool:
        """Whether this revision is the commit checked out (its code is the user's own)."""
        repo = self.project.repo
        try:
            return not repo.head_is_unborn and str(repo.head.target) == self.commit
        except (KeyError, ValueError, pygit2.GitError):
            return False

    def _unfinished(self, status: int, stdout: bytes, stderr: bytes) -> str:
        """Why the child gave no answer: the models exited, crashed or were killed."""
        import signal

        app = last_app(stdout)
        where = f" while importing app {app!r}" if app else ""
        if status < 0:
            try:
                how = f"was killed by {signal.Signals(-status).name}"
            except ValueError:
                how = f"was killed by signal {-status}"
        else:
            how = f"exited with status {status} without finishing"
        lines = stderr.decode(errors="replace").strip().splitlines()
        last = f"; its last words: {lines[-1].strip()}" if lines else ""
        return (f"gitmig could not read {self.described}: the process importing its models "
                f"{how}{where} (os._exit(), sys.exit() or a crash in the models?){last}")

    def _shown(self, message: str, exported: Path) -> str:
        """A child's message with paths of the exported copy written as the snapshot's."""
        ancestor = self._ancestor()
        prefix = self.display(ancestor + "/" if ancestor else "")
        for base in {str(exported), str(exported.resolve())}:
            message = message.replace(base + os.sep, prefix).replace(base, prefix.rstrip("/:"))
        return " ".join(message.split())

    # -- the exported copy -------------------------------------------------------------

    def _ancestor(self) -> str:
        """The deepest folder holding the project root, pythonpath and migrations."""
        folders = self.layout.folders()
        if any(f == "" for f in folders):
            return ""
        return posixpath.commonpath(folders)

    def export(self) -> Path | None:
        """This snapshot's project files on disk, written once per tree id (None: absent).

        The copy holds the deepest folder containing the project root, its pythonpath and
        its migrations folders, keyed by that folder's tree id, so unrelated changes
        elsewhere in the repository reuse it. It is written to a temporary folder and
        renamed into place, so a copy that exists is always complete.
        """
        ancestor = self._ancestor()
        if not self.is_dir(self.project.prefix):
            return None
        subtree = self._entry(ancestor)
        assert isinstance(subtree, pygit2.Tree)
        cache = self.project.cache_dir
        final = cache / str(subtree.id)
        if final.is_dir():
            with contextlib.suppress(OSError):
                os.utime(final)
            return final
        try:
            cache.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=temp_dir_prefix(), dir=cache))
        except OSError as exc:
            raise GitmigError(f"cannot write gitmig's cache in {cache}: {exc.strerror}") from None
        try:
            write_tree(subtree, tmp, ancestor)
            os.rename(tmp, final)
        except UnsafeTree as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise GitmigError(f"gitmig does not write out {self.described}: {exc.message}; "
                              "git would refuse to check it out too") from None
        except (KeyError, ValueError, pygit2.GitError) as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise self._damaged(exc) from None
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            if final.is_dir():  # another gitmig wrote the same tree meanwhile
                return final
            raise GitmigError(f"cannot write gitmig's cache in {cache}: {exc.strerror}") from None
        prune(cache, keep=final)
        return final


def models_states(snapshots: list[Snapshot], missing_is_empty: bool = False) -> list[SchemaState]:
    """The models' schema of several snapshots, their child processes run side by side.

    Files are exported first, one after the other (pygit2 objects stay in this thread);
    only the child processes overlap.
    """
    from concurrent.futures import ThreadPoolExecutor

    exported = {i: s.export() for i, s in enumerate(snapshots) if s.kind != WORKTREE}
    with ThreadPoolExecutor(max_workers=max(1, len(exported))) as pool:
        futures = {
            i: pool.submit(snapshots[i]._child_states, path, False, missing_is_empty)
            for i, path in exported.items()
        }
        out = []
        for i, s in enumerate(snapshots):
            state = futures[i].result()[0] if i in futures else s.models_state(missing_is_empty)
            out.append(state)
    return out


def _section_of(raw: bytes, where: str) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GitmigError(f"{where} is not valid TOML: {exc}") from None
    section = data.get("tool", {}).get("gitmig")
    return section if isinstance(section, dict) else None
