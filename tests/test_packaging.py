"""gitmig as a user gets it: a wheel built from this tree, installed into a clean virtual
environment, installs hooks that work. The hook scripts live once, in the top-level hooks/."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from .gitrepo import Repo, add_slug, make_repo

TOP = Path(__file__).resolve().parent.parent
HOOKS = ["post-checkout", "post-merge", "pre-commit"]
SOURCES = ["pyproject.toml", "setup.py", "README.md", "gitmig", "hooks"]


def build_wheel(out: Path, tmp: Path) -> Path:
    """`pip wheel . --no-deps` on a copy of the sources, so that the build leaves nothing
    (build/, egg-info) in this checkout."""
    src = tmp / "src"
    for name in SOURCES:
        if (TOP / name).is_dir():
            shutil.copytree(TOP / name, src / name,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            src.mkdir(parents=True, exist_ok=True)
            shutil.copy2(TOP / name, src / name)
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
                           "-q", "-w", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [wheel] = out.glob("gitmig-*.whl")
    return wheel


def clean_venv(folder: Path) -> Path:
    """A new venv that sees gitmig's dependencies (SQLAlchemy, pygit2, ...) from this one's
    site-packages through a plain path line, so no index is needed, but not this checkout's
    editable gitmig: a path line does not run that folder's .pth files, where the editable
    finder is hooked in. Returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(folder)], check=True,
                   timeout=120)
    python = folder / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()"
                           "['purelib'])"], capture_output=True, text=True, check=True)
    Path(site.stdout.strip(), "dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n")
    return python


@pytest.mark.slow
def test_a_wheel_in_a_clean_venv_installs_hooks_that_block_an_unmigrated_change(
    tmp_path: Path,
) -> None:
    wheel = build_wheel(tmp_path / "dist", tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    for name in HOOKS:
        assert f"gitmig/_hook_scripts/{name}" in names, names
    assert not [n for n in names if n.startswith(("hooks/", "gitmig/hook_scripts/"))], names

    python = clean_venv(tmp_path / "venv")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
         str(wheel)], capture_output=True, text=True, timeout=600)
    if installed.returncode != 0 and "no such option: --python" in installed.stderr:
        pytest.skip("this pip cannot install into another environment (--python)")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    where = subprocess.run([str(python), "-c", "import gitmig; print(gitmig.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True)
    assert Path(where.stdout.strip()).is_relative_to(tmp_path / "venv"), where.stdout

    repo: Repo = make_repo(tmp_path / "proj", tmp_path / "home")
    gitmig = tmp_path / "venv" / "bin" / "gitmig"
    proc = subprocess.run([str(gitmig), "hooks", "install"], cwd=repo.root, env=repo.env(),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pre-commit: installed" in proc.stdout.splitlines()
    for name in HOOKS:
        hook = repo.root / ".git" / "hooks" / name
        assert hook.read_bytes() == (TOP / "hooks" / name).read_bytes(), name
    assert repo.git("config", "--get", "gitmig.python").stdout.strip() == str(python)

    add_slug(repo)
    before = repo.commits()
    run = repo.commit("blog/models.py")
    assert run.exit_code != 0, run.output
    assert "the staged models have changes without a staged migration" in run.stderr
    assert repo.commits() == before
