"""Projects that are real git repositories, driven through the git CLI as a user drives them.

Git runs with a clean environment: no GIT_* variables from outside, a HOME of its own (no
global config, no global hooksPath), and a PATH without this virtual environment, so the
hooks prove they work from the Python recorded at install time.
"""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

from .conftest import BASE, Project, Result

POST = """
class Post(Base):
    __tablename__ = "post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(200))
"""

SLUG = """    slug: Mapped[str | None] = mapped_column(sa.String(50))
"""

PYPROJECT = """
[project]
name = "proj"

[tool.gitmig]
database = "sqlite:///db.sqlite3"

[tool.gitmig.apps]
blog = "blog.models"
"""


def _path_without_venv() -> str:
    git = shutil.which("git")
    assert git is not None
    keep = [str(Path(git).parent), "/usr/bin", "/bin"]
    return os.pathsep.join(dict.fromkeys(p for p in keep if not p.startswith(sys.prefix)))


class Repo(Project):
    """A Project whose folder is the top of a git repository."""

    def __init__(self, root: Path, home: Path) -> None:
        super().__init__(root)
        self.home = home
        root.mkdir(parents=True, exist_ok=True)
        home.mkdir(parents=True, exist_ok=True)

    def env(self, venv_on_path: bool = False) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(HOME=str(self.home), GIT_CONFIG_NOSYSTEM="1", PATH=_path_without_venv())
        if venv_on_path:
            env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env["PATH"]
        return env

    def git(self, *args: str, check: bool = True, cwd: Path | None = None) -> Result:
        proc = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=cwd or self.root, env=self.env(), capture_output=True, text=True,
        )
        run = Result(proc.returncode, proc.stdout, proc.stderr)
        if check:
            assert run.exit_code == 0, f"git {' '.join(args)}: {run.output}"
        return run

    def commit(self, *paths: str, message: str = "change") -> Result:
        """`git add PATHS` (all when none) and `git commit`, which runs the hooks."""
        self.git("add", *(paths or ["-A"]))
        return self.git("commit", "-q", "-m", message, check=False)

    def commits(self) -> int:
        run = self.git("rev-list", "--count", "HEAD", check=False)
        return int(run.stdout) if run.exit_code == 0 else 0

    def run_python(self, *args: str, cwd: Path | None = None) -> Result:
        """This environment's Python, run as git runs a hook (clean env, top of the tree)."""
        proc = subprocess.run(
            [sys.executable, *args], cwd=cwd or self.root, env=self.env(),
            capture_output=True, text=True,
        )
        return Result(proc.returncode, proc.stdout, proc.stderr)


def gitmig_on_a_terminal(*args: str, cwd: Path) -> tuple[int, str]:
    """`gitmig ARGS` with a colour terminal as its output; (exit code, output)."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "200"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gitmig", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=secondary, stderr=secondary)
    os.close(secondary)
    chunks = []
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(primary)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def make_repo(root: Path, home: Path, body: str = POST, top: Path | None = None) -> Repo:
    """A committed project: blog/models.py holding `body`, with its initial migration;
    the repository's top is the project folder, or `top` above it."""
    repo = Repo(root, home)
    repo.write("pyproject.toml", PYPROJECT)
    repo.write("blog/__init__.py", "")
    repo.write("blog/models.py", BASE + body)
    repo.write(".gitignore", "*.sqlite3\n__pycache__/\n")
    repo.git("init", "-q", "-b", "main", str(top or root))
    result = repo.gitmig("makemigrations", "--no-input")
    assert result.exit_code == 0, result.output
    assert repo.commit(message="initial").exit_code == 0
    return repo


def add_slug(repo: Repo) -> None:
    """A model change: post gets a nullable slug column."""
    text = repo.read("blog/models.py")
    repo.write("blog/models.py", text + SLUG)
