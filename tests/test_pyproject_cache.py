"""pyproject.toml parsed once per content (gitmig.config.read_pyproject through
gitmig.cache): an edit is always seen, a damaged entry is ignored, a bad file is never
remembered, and what a command prints never depends on the cache."""

from __future__ import annotations

import datetime as dt
import json
import os
import pickle
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from gitmig import cache
from gitmig.config import load_config, read_pyproject

from .conftest import Project
from .test_migrate import two_migrations

DOCUMENT = """
[project]
name = "proj"
when = 1979-05-27T07:32:00Z
ratio = 0.1
big = 9_223_372_036_854_775_807

[tool.gitmig]
database = "sqlite:///db.sqlite3"
[tool.gitmig.apps]
blog = "blog.models"
"""


@pytest.fixture
def cached(project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project's cache folder, empty."""
    folder = tmp_path / "cache"
    monkeypatch.setenv("GITMIG_CACHE_DIR", str(folder))
    monkeypatch.delenv("GITMIG_NO_CACHE", raising=False)
    return folder


def entries(folder: Path) -> list[Path]:
    return sorted(folder.glob("pyproject-*.pickle")) if folder.is_dir() else []


def show(project: Project, *args: str, no_cache: bool = False) -> tuple[int, str, str]:
    """`gitmig showmigrations --json` as a user runs it (the entry point)."""
    env = {**os.environ, "GITMIG_NO_CACHE": "1"} if no_cache else dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "gitmig", "showmigrations", "--json", *args],
                          cwd=project.root, env=env, capture_output=True, text=True,
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_the_second_read_is_the_first_ones_document(project: Project, cached: Path) -> None:
    path = project.write("pyproject.toml", DOCUMENT)
    expected = tomllib.loads(DOCUMENT)

    first = read_pyproject(path)
    (entry,) = entries(cached)
    second = read_pyproject(path)

    assert first == second == expected
    assert second["project"]["when"] == dt.datetime(1979, 5, 27, 7, 32, tzinfo=dt.UTC)
    second["tool"]["gitmig"]["database"] = "changed by a caller"
    assert read_pyproject(path) == expected  # each read is a document of its own
    assert entries(cached) == [entry]


def test_an_edit_of_the_same_size_and_time_is_seen(project: Project, cached: Path) -> None:
    two_migrations(project)
    path = project.root / "pyproject.toml"
    before = json.loads(show(project)[1])["database"]
    stat = path.stat()
    path.write_text(path.read_text().replace("db.sqlite3", "db.sqlite4"))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    code, out, _ = show(project)

    assert code == 0
    assert before.endswith("/db.sqlite3")
    assert json.loads(out)["database"] == before.replace("db.sqlite3", "db.sqlite4")
    assert (code, out) == show(project, no_cache=True)[:2]


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty", "not a dict",
                                 "another file's digest"])
def test_a_damaged_entry_is_ignored(project: Project, cached: Path, how: str) -> None:
    two_migrations(project)
    cold = show(project, no_cache=True)
    assert show(project) == cold
    (entry,) = entries(cached)
    data = entry.read_bytes()
    if how == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        entry.write_bytes(b"\x80\x05garbage, not a pickle")
    elif how == "empty":
        entry.write_bytes(b"")
    else:
        value = pickle.loads(data)
        value["value"] = (["document"] if how == "not a dict" else
                          {"digest": cache.digest(b"other"), "document": {"tool": {}}})
        entry.write_bytes(pickle.dumps(value))

    assert show(project) == cold
    assert show(project) == cold  # the entry written again serves as well


def test_a_bad_file_is_never_remembered(project: Project, cached: Path) -> None:
    two_migrations(project)
    path = project.root / "pyproject.toml"
    good = path.read_text()
    cold_errors = []
    for text in ("[tool.gitmig\n", good, "[tool.gitmig\n"):
        path.write_text(text)
        cold_errors.append(show(project, no_cache=True))
        assert show(project) == cold_errors[-1]
    assert cold_errors[0][0] == 2 and "is not valid TOML" in cold_errors[0][2]
    assert cold_errors[1][0] == 0
    path.write_bytes(b"[tool.gitmig]\ndatabase = \"caf\xe9\"\n")
    assert show(project)[2] == show(project, no_cache=True)[2]
    assert "not UTF-8 text" in show(project)[2]


def test_no_cache_writes_no_entry(project: Project, cached: Path,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITMIG_NO_CACHE", "1")
    assert load_config(project.root / "pyproject.toml").apps.keys() == {"blog"}
    assert entries(cached) == []
