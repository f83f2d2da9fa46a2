"""The sweep every command starts with (gitmig.git.projectlock) costs next to nothing when
no killed run left anything: folders are listed by name, and gitmig.atomic (json,
tempfile, shutil) is imported only when a name may be a leftover. A leftover is still
swept, and the light check never misses a name gitmig.atomic would remove."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from gitmig import atomic
from gitmig.git import projectlock

from .gitrepo import Repo

HEAVY = {"gitmig.atomic", "json", "tempfile", "shutil", "base64"}


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(proc.stdout)


def showmigrations(repo: Repo, tmp: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """`gitmig showmigrations` in a process of its own (nothing loaded before it), its
    system temporary folder `tmp`; with the modules it imported."""
    env = {**repo.env(), "TMPDIR": str(tmp)}
    r = subprocess.run([sys.executable, "-X", "importtime", "-m", "gitmig", "showmigrations"],
                       cwd=repo.root, env=env, capture_output=True, text=True)
    imported = {line.rpartition("|")[2].strip() for line in r.stderr.splitlines()
                if line.startswith("import time:")}
    return r, imported


def test_showmigrations_on_a_clean_project_imports_nothing_heavy(repo: Repo,
                                                                 tmp_path: Path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    # a running process's scratch folder, and another program's: neither is a leftover
    (tmp / f"gitmig-resolve-{os.getpid()}-abcd1234").mkdir()
    (tmp / "gitmig-cache-abcd1234").mkdir()
    r, imported = showmigrations(repo, tmp)
    assert r.returncode == 0, r.stderr
    assert "[ ] 0001_initial" in r.stdout
    assert not imported & HEAVY, sorted(imported & HEAVY)
    assert (tmp / f"gitmig-resolve-{os.getpid()}-abcd1234").is_dir()


def test_a_leftover_is_still_swept(repo: Repo, tmp_path: Path) -> None:
    dead = _dead_pid()
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    stray = repo.root / "blog" / "migrations" / f".0002_post_slug.py.{dead}.ab_cd123.tmp"
    stray.write_text("half a file")
    scratch = tmp / f"gitmig-scratch-{dead}-abcd1234"
    (scratch / "blog").mkdir(parents=True)
    kept = repo.root / "blog" / "migrations" / "notes.tmp"
    kept.write_text("mine")

    r, imported = showmigrations(repo, tmp)

    assert r.returncode == 0, r.stderr
    assert "gitmig.atomic" in imported  # there was something to do
    assert not stray.exists() and not scratch.exists()
    assert kept.read_text() == "mine"
    r, imported = showmigrations(repo, tmp)
    assert not imported & HEAVY  # and now there is nothing


_RANDOM = st.text("abcdefghijklmnopqrstuvwxyz0123456789_", min_size=8, max_size=8)
_NAME = st.text("abcdefghijklmnopqrstuvwxyz0123456789_.-", min_size=1, max_size=12)
_PID = st.integers(1, 10**7).map(str)


@given(st.one_of(
    st.builds(lambda n, p, r: f".{n}.{p}.{r}.tmp", _NAME, _PID, _RANDOM),
    st.builds(lambda n, r: f".{n}.{r}.tmp", _NAME, _RANDOM),
    st.builds(lambda n, r: f".{n}.{r}", st.sampled_from(
        ["pre-commit", "post-merge", "post-checkout", "pyproject.toml", "precommit-watch"]),
        _RANDOM),
    st.builds(lambda p, r: f".tmp-{p}-{r}", _PID, _RANDOM),
    st.builds(lambda r: f".tmp-{r}", _RANDOM),
    st.from_regex(r"\A\.[a-z.-]{0,6}\.tmp\Z"),
    _NAME,
))
def test_the_light_check_sees_every_name_the_sweep_removes(name: str) -> None:
    if atomic._TEMP_FILE.match(name) or atomic._OLD_TEMP_FILE.match(name):
        assert projectlock._may_be_temp_file(name)
    if (atomic._TEMP_FILE.match(name) or atomic._OLD_TEMP_FILE.match(name)
            or atomic._TEMP_DIR.match(name) or atomic._OLD_TEMP_DIR.match(name)):
        assert projectlock._may_be_cache_temp(name)


@given(st.one_of(
    st.builds(lambda w, p, r: f"gitmig-{w}-{p}-{r}",
              st.sampled_from(["resolve", "index", "scratch"]), _PID, _RANDOM),
    st.builds(lambda w, r: f"gitmig-{w}-{r}", st.sampled_from(["resolve", "index"]), _RANDOM),
))
def test_the_light_check_sees_every_scratch_name(name: str) -> None:
    assert atomic._SCRATCH_DIR.match(name) or atomic._OLD_SCRATCH_DIR.match(name)
    assert name.startswith(projectlock._SCRATCH)
